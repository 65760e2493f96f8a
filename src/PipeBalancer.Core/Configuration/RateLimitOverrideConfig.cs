namespace PipeBalancer.Configuration;

/// <summary>
/// One entry of <c>rateLimits[].overrides</c>: a different rate for the keys it matches. Each
/// matching key still has a bucket of its own, at this rate.
/// </summary>
internal sealed record RateLimitOverrideConfig
{
    /// <summary>
    /// What it applies to: CIDRs (or single addresses) of the client address for a
    /// <c>client-ip</c> limiter, exact key values for the others.
    /// </summary>
    public IReadOnlyList<string> Match { get; init; } = null!;

    /// <summary>Tokens added per second.</summary>
    public double RatePerSecond { get; init; }

    /// <summary>Bucket size: requests allowed at once after a quiet spell.</summary>
    public int Burst { get; init; }

    /// <summary>Whether <paramref name="other"/> says the same (lists compared item by item).</summary>
    public bool SameAs(RateLimitOverrideConfig other) =>
        Match.SequenceEqual(other.Match) && RatePerSecond.Equals(other.RatePerSecond) && Burst == other.Burst;

    // The start of an entry: required members absent, rate and burst valid so that a missing one is reported once, as missing.
    private static readonly RateLimitOverrideConfig Blank = new() { RatePerSecond = 1, Burst = 1 };

    internal static readonly ConfigSchema<RateLimitOverrideConfig> Schema = new(Blank,
    [
        new StringListSetting<RateLimitOverrideConfig>("match", "an array of CIDRs or key values", c => c.Match, (c, v) => c with { Match = v }) { Required = true },
        new NumberSetting<RateLimitOverrideConfig>("ratePerSecond", 0, RateLimitConfig.MaxRatePerSecond, exclusiveMin: true, c => c.RatePerSecond, (c, v) => c with { RatePerSecond = v })
        {
            Required = true,
        },
        new IntSetting<RateLimitOverrideConfig>("burst", 1, RateLimitConfig.MaxBurst, c => c.Burst, (c, v) => c with { Burst = v }) { Required = true },
    ]);
}
