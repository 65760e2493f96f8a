using System.Text;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class KeyHashTests
{
    // Published vectors: FNV (Fowler/Noll/Vo reference test suite), djb2 (by hand from the
    // definition), MD5 (RFC 1321 appendix A.5), CRC-32 check value (the "123456789" check of
    // the CRC catalogue), XXH3-64 of the empty input with seed 0 (xxHash reference).
    [TestCase("", 0x811c9dc5u)]
    [TestCase("a", 0xe40c292cu)]
    [TestCase("foobar", 0xbf9cf968u)]
    public void Fnv1a32_MatchesPublishedVectors(string input, uint expected) =>
        Assert.That(KeyHash.Fnv1a32(Encoding.ASCII.GetBytes(input)), Is.EqualTo(expected));

    [TestCase("", 5381u)]
    [TestCase("a", 177670u)]
    [TestCase("ab", 5863208u)]
    public void Djb2_MatchesDefinition(string input, uint expected) =>
        Assert.That(KeyHash.Djb2(Encoding.ASCII.GetBytes(input)), Is.EqualTo(expected));

    [Test]
    public void Md5_TakesFirstFourDigestBytesLittleEndian()
    {
        // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72
        Assert.That(KeyHash.Hash(HashFunction.Md5, "abc"u8), Is.EqualTo(0x98500190u));
    }

    [Test]
    public void Crc32_MatchesCheckValue() =>
        Assert.That(KeyHash.Hash(HashFunction.Crc32, "123456789"u8), Is.EqualTo(0xCBF43926u));

    [Test]
    public void XxHash3_IsLow32BitsOfXxh3_64()
    {
        // XXH3_64bits("") = 0x2D06800538D394C2
        Assert.That(KeyHash.Hash(HashFunction.XxHash3, ReadOnlySpan<byte>.Empty), Is.EqualTo(0x38D394C2u));
    }

    [Test]
    public void Fmix32_IsMurmur3Finalizer()
    {
        Assert.Multiple(() =>
        {
            Assert.That(KeyHash.Fmix32(0), Is.Zero);
            // fmix32(1) from the murmur3 reference finalizer.
            Assert.That(KeyHash.Fmix32(1), Is.EqualTo(0x514E28B7u));
        });
    }

    [Test]
    public void WeakHashes_AreFinalized()
    {
        Assert.Multiple(() =>
        {
            Assert.That(KeyHash.Hash(HashFunction.Fnv1a, "foobar"u8), Is.EqualTo(KeyHash.Fmix32(0xbf9cf968u)));
            Assert.That(KeyHash.Hash(HashFunction.Djb2, "a"u8), Is.EqualTo(KeyHash.Fmix32(177670u)));
        });
    }

    [Test]
    public void EveryFunction_IsDeterministicAndSensitiveToEveryByte()
    {
        foreach (var (name, function) in RoutingNames.Hashes)
        {
            byte[] key = Encoding.ASCII.GetBytes("/api/users/12345/profile");
            uint first = KeyHash.Hash(function, key);
            Assert.That(KeyHash.Hash(function, key.ToArray()), Is.EqualTo(first), name);
            for (int i = 0; i < key.Length; i++)
            {
                byte[] changed = key.ToArray();
                changed[i] ^= 1;
                Assert.That(KeyHash.Hash(function, changed), Is.Not.EqualTo(first), $"{name}: byte {i}");
            }
        }
    }
}
