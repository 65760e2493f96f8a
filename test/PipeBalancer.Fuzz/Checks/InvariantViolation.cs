using PipeBalancer.Http1;

namespace PipeBalancer.Fuzz;

/// <summary>
/// A parser broke one of its invariants on some input. Thrown so that afl-fuzz records the
/// input as a crash, and so that the property tests fail with the same message.
/// </summary>
internal sealed class InvariantViolation : Exception
{
    public InvariantViolation(string message)
        : base(message)
    {
    }

    public InvariantViolation()
    {
    }

    public InvariantViolation(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantViolation(what);
        }
    }

    /// <summary>Throws when the two descriptions differ, showing both.</summary>
    public static void Same(string expected, string actual, string what)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new InvariantViolation($"{what}:\n  expected {expected}\n  actual   {actual}");
        }
    }

    /// <summary>
    /// Parses growing prefixes of <paramref name="bytes"/>, as reads arrive: each is incomplete
    /// until the first that is not, whose verdict must be <paramref name="whole"/>'s.
    /// </summary>
    public static void SameVerdictOnPrefixes(byte[] bytes, string whole, Func<ReadOnlyMemory<byte>, (string Verdict, ParseStatus Status)> parse)
    {
        for (int length = 0; length < bytes.Length; length++)
        {
            var (prefix, status) = parse(bytes.AsMemory(0, length));
            if (status != ParseStatus.Incomplete)
            {
                Same(whole, prefix, $"verdict on the first {length} of {bytes.Length} bytes");
                return;
            }
        }
    }
}
