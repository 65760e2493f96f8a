using CsCheck;
using PipeBalancer.Fuzz;

namespace PipeBalancer.Tests.Http1;

/// <summary>
/// A short, bounded pass of the fuzz targets' invariants (test/PipeBalancer.Fuzz) on generated
/// inputs: mutations of the malformed corpus and of valid messages. The long coverage-guided
/// runs are ./build.sh fuzz; see docs/fuzzing.md.
/// </summary>
public sealed class ParserPropertyTests
{
    private const int Iterations = 3000;

    // Bytes that matter to HTTP/1.1 framing, inserted more often than chance would.
    private static readonly byte[] Interesting = "\r\n:; \t,/@?#[]%0aF-\0\u007f"u8.ToArray().Append((byte)0xff).ToArray();

    private static readonly byte[][] Requests = [.. MalformedRequests.All().Select(r => r.Bytes), .. ValidMessages.RequestHeads];

    [Test]
    public void RequestHeadParser_KeepsItsInvariants_OnMutatedHeads() =>
        Mutated(Requests).Sample(bytes => RequestHeadChecks.Check(bytes), iter: Iterations, print: Show);

    [Test]
    public void ResponseHeadParser_KeepsItsInvariants_OnMutatedHeads() =>
        Mutated([.. ValidMessages.ResponseHeads]).Sample(bytes => ResponseHeadChecks.Check(bytes), iter: Iterations, print: Show);

    [Test]
    public void ChunkedReader_KeepsItsInvariants_OnMutatedBodies() =>
        Mutated([.. ValidMessages.ChunkedBodies]).Sample(bytes => ChunkedBodyChecks.Check(bytes), iter: Iterations, print: Show);

    [Test]
    public void EverySeed_KeepsTheInvariants()
    {
        // The seeds themselves, unmutated: every corpus case and valid message.
        Assert.Multiple(() =>
        {
            foreach (var bytes in Requests)
            {
                Assert.DoesNotThrow(() => RequestHeadChecks.Check(bytes), Show(bytes));
            }

            foreach (var bytes in ValidMessages.ResponseHeads)
            {
                Assert.DoesNotThrow(() => ResponseHeadChecks.Check(bytes), Show(bytes));
            }

            foreach (var bytes in ValidMessages.ChunkedBodies)
            {
                Assert.DoesNotThrow(() => ChunkedBodyChecks.Check(bytes), Show(bytes));
            }
        });
    }

    [TestCase("request")]
    [TestCase("response")]
    [TestCase("chunked")]
    public void FuzzSeedFiles_KeepTheInvariants(string target)
    {
        // Every seed, including the inputs afl-fuzz once found a fault with (crash-*).
        string seeds = Path.Combine(RepositoryRoot(), "test", "PipeBalancer.Fuzz", "seeds", target);
        Action<byte[]> check = target switch
        {
            "request" => bytes => RequestHeadChecks.Check(bytes),
            "response" => bytes => ResponseHeadChecks.Check(bytes),
            _ => bytes => ChunkedBodyChecks.Check(bytes),
        };
        var files = Directory.GetFiles(seeds);
        Assert.That(files, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (string file in files)
            {
                Assert.DoesNotThrow(() => check(File.ReadAllBytes(file)), Path.GetFileName(file));
            }
        });
    }

    [Test]
    public void ValidMessages_AreAccepted()
    {
        Assert.Multiple(() =>
        {
            foreach (var bytes in ValidMessages.RequestHeads)
            {
                Assert.That(RequestHeadChecks.Parse(bytes, new PipeBalancer.Http1.RequestHead(), out _, out _), Does.StartWith("Complete"), Show(bytes));
            }

            foreach (var bytes in ValidMessages.ResponseHeads)
            {
                Assert.That(ResponseHeadChecks.Parse(bytes, new PipeBalancer.Http1.ResponseHead(), out _, out _), Does.StartWith("Complete"), Show(bytes));
            }
        });
    }

    [Test]
    public void FuzzSeeds_HoldEveryCaseOfTheMalformedCorpus()
    {
        // afl-fuzz starts from test/PipeBalancer.Fuzz/seeds; they are written by
        // "dotnet test/PipeBalancer.Fuzz/bin/Release/net10.0/PipeBalancer.Fuzz.dll seeds test/PipeBalancer.Fuzz/seeds".
        string seeds = Path.Combine(RepositoryRoot(), "test", "PipeBalancer.Fuzz", "seeds", "request");
        var files = Directory.GetFiles(seeds).Select(File.ReadAllBytes).ToList();
        var missing = MalformedRequests.All().Where(r => !files.Any(f => f.AsSpan().SequenceEqual(r.Bytes))).Select(r => r.Name);
        Assert.That(missing, Is.Empty, "corpus cases without a seed file: rewrite the seeds");
    }

    // Each input is a seed with up to eight edits: overwrite, insert or delete a byte (often a
    // framing byte), duplicate a slice, or cut the input short.
    private static Gen<byte[]> Mutated(byte[][] seeds)
    {
        var edit = Gen.Select(Gen.Int[0, 4], Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], Gen.Byte);
        return Gen.Select(Gen.Int[0, seeds.Length - 1], edit.Array[0, 8], (index, edits) =>
        {
            var bytes = new List<byte>(seeds[index]);
            foreach (var (kind, position, other, value) in edits)
            {
                byte b = (value & 1) == 0 ? Interesting[value % Interesting.Length] : value;
                int at = bytes.Count == 0 ? 0 : position % bytes.Count;
                switch (kind)
                {
                    case 0 when bytes.Count > 0:
                        bytes[at] = b;
                        break;
                    case 1:
                        bytes.Insert(at, b);
                        break;
                    case 2 when bytes.Count > 0:
                        bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + (other % 4)));
                        break;
                    case 3 when bytes.Count > 0:
                        int length = Math.Min(bytes.Count - at, 1 + (other % 32));
                        bytes.InsertRange(other % (bytes.Count + 1), bytes.GetRange(at, length));
                        break;
                    case 4:
                        bytes.RemoveRange(at, bytes.Count - at);
                        break;
                }
            }

            return bytes.ToArray();
        });
    }

    private static string Show(byte[] bytes) => Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 512)));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PipeBalancer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("PipeBalancer.sln above " + TestContext.CurrentContext.TestDirectory);
    }
}
