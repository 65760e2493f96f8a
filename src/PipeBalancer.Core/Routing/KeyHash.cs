using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace PipeBalancer.Routing;

/// <summary>The stable hash functions a routing table can place points and keys with.</summary>
public enum HashFunction
{
    /// <summary>XXH3 64-bit (System.IO.Hashing), low 32 bits. Well mixed and fast: the default.</summary>
    XxHash3,

    /// <summary>32-bit FNV-1a followed by the murmur3 fmix32 finalizer.</summary>
    Fnv1a,

    /// <summary>djb2 (h * 33 + c) followed by the murmur3 fmix32 finalizer.</summary>
    Djb2,

    /// <summary>MD5, first four digest bytes little-endian (as ketama reads them).</summary>
    Md5,

    /// <summary>CRC-32 (IEEE 802.3, as zlib and nginx compute it). Used by the nginx algorithm.</summary>
    Crc32,
}

/// <summary>
/// Hashes routing keys and point labels to 32 bits. Every function is deterministic across
/// processes and machines (never <see cref="string.GetHashCode()"/>), so several balancers with
/// the same backends route every key alike.
/// </summary>
internal static class KeyHash
{
    /// <summary>Hashes <paramref name="data"/> with <paramref name="function"/>; never allocates.</summary>
    public static uint Hash(HashFunction function, ReadOnlySpan<byte> data) => function switch
    {
        HashFunction.XxHash3 => (uint)XxHash3.HashToUInt64(data),
        // FNV-1a and djb2 cluster badly on labels that differ only in their last digits
        // (10 servers x 150 points: one server at 1.5x the mean share); the finalizer spreads
        // them to what a well-mixed hash gives (1.07x, see docs/routing.md).
        HashFunction.Fnv1a => Fmix32(Fnv1a32(data)),
        HashFunction.Djb2 => Fmix32(Djb2(data)),
        HashFunction.Md5 => Md5Prefix(data),
        HashFunction.Crc32 => System.IO.Hashing.Crc32.HashToUInt32(data),
        _ => throw new ArgumentOutOfRangeException(nameof(function)),
    };

    /// <summary>The plain 32-bit FNV-1a hash (offset basis 2166136261, prime 16777619).</summary>
    public static uint Fnv1a32(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (byte b in data)
        {
            h = (h ^ b) * 16777619;
        }

        return h;
    }

    /// <summary>The plain djb2 hash (Bernstein): h = 5381, then h = h * 33 + byte.</summary>
    public static uint Djb2(ReadOnlySpan<byte> data)
    {
        uint h = 5381;
        foreach (byte b in data)
        {
            h = (h << 5) + h + b;
        }

        return h;
    }

    /// <summary>The murmur3 32-bit finalizer: every input bit affects every output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Fmix32(uint h)
    {
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    private static uint Md5Prefix(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
#pragma warning disable CA5351 // MD5 places keys (as ketama does); it protects nothing.
        MD5.HashData(data, digest);
#pragma warning restore CA5351
        return BinaryPrimitives.ReadUInt32LittleEndian(digest);
    }
}
