using PipeBalancer.RateLimiting;

namespace PipeBalancer.Configuration;

/// <summary>
/// One entry of <c>rateLimits[]</c>: a token bucket per key (client address, header, cookie or
/// path prefix) on the listeners it names, with overrides and an allow-list, in a table of
/// fixed capacity.
/// </summary>
internal sealed record RateLimitConfig
{
    /// <summary>Highest rate: a million requests a second per key is no limit at all.</summary>
    public const double MaxRatePerSecond = 1_000_000;

    /// <summary>Largest bucket.</summary>
    public const int MaxBurst = 1_000_000;

    /// <summary>Default table size: 65,536 keys, 1 MB (16 bytes a key).</summary>
    public const int DefaultCapacity = 65_536;

    /// <summary>Largest table: 16M keys, 256 MB.</summary>
    public const int MaxCapacity = 16 * 1024 * 1024;

    /// <summary>Unique name: the label of its counters in stats and metrics.</summary>
    public string Name { get; init; } = null!;

    /// <summary>The names of the listeners it applies to.</summary>
    public IReadOnlyList<string> Listeners { get; init; } = null!;

    /// <summary>What requests are counted by.</summary>
    public LimitKey Key { get; init; } = LimitKey.ClientIp;

    /// <summary>Tokens added per second, per key.</summary>
    public double RatePerSecond { get; init; }

    /// <summary>Bucket size, per key: requests allowed at once after a quiet spell.</summary>
    public int Burst { get; init; }

    /// <summary>IPv4 client addresses are grouped by this many leading bits (client-ip keys, and missing header or cookie keys).</summary>
    public int Ipv4Prefix { get; init; } = 32;

    /// <summary>IPv6 client addresses are grouped by this many leading bits; 64 is one customer's network, as ISPs hand them out.</summary>
    public int Ipv6Prefix { get; init; } = 64;

    /// <summary>For <c>path-prefix</c>: how many leading path segments make the key.</summary>
    public int PathSegments { get; init; } = 1;

    /// <summary>Keys the table holds; a new key beyond it takes the place of the idlest one.</summary>
    public int Capacity { get; init; } = DefaultCapacity;

    /// <summary>Keys with a rate of their own.</summary>
    public IReadOnlyList<RateLimitOverrideConfig> Overrides { get; init; } = [];

    /// <summary>Keys never limited: CIDRs for client-ip, exact values for the others.</summary>
    public IReadOnlyList<string> Allow { get; init; } = [];

    /// <summary>
    /// Whether <paramref name="other"/> limits the same way (lists compared item by item): a
    /// reload keeps the buckets of a limiter for which this holds.
    /// </summary>
    public bool SameAs(RateLimitConfig other) =>
        Name == other.Name && Listeners.SequenceEqual(other.Listeners) && Key.Equals(other.Key) &&
        RatePerSecond.Equals(other.RatePerSecond) && Burst == other.Burst && Ipv4Prefix == other.Ipv4Prefix &&
        Ipv6Prefix == other.Ipv6Prefix && PathSegments == other.PathSegments && Capacity == other.Capacity &&
        Overrides.Count == other.Overrides.Count && Overrides.Zip(other.Overrides).All(p => p.First.SameAs(p.Second)) &&
        Allow.SequenceEqual(other.Allow);

    // The start of an entry: required members absent, rate and burst valid so that a missing one is reported once, as missing.
    private static readonly RateLimitConfig Blank = new() { RatePerSecond = 1, Burst = 1 };

    internal static readonly ConfigSchema<RateLimitConfig> Schema = new(Blank,
    [
        new StringSetting<RateLimitConfig>("name", c => c.Name, (c, v) => c with { Name = v! }) { Required = true },
        new StringListSetting<RateLimitConfig>("listeners", "an array of listener names", c => c.Listeners, (c, v) => c with { Listeners = v }) { Required = true },
        new TextSetting<RateLimitConfig, LimitKey>("key", "string", LimitKey.TryParse, k => k.ToString(), c => c.Key, (c, v) => c with { Key = v }),
        new NumberSetting<RateLimitConfig>("ratePerSecond", 0, MaxRatePerSecond, exclusiveMin: true, c => c.RatePerSecond, (c, v) => c with { RatePerSecond = v })
        {
            Required = true,
        },
        new IntSetting<RateLimitConfig>("burst", 1, MaxBurst, c => c.Burst, (c, v) => c with { Burst = v }) { Required = true },
        new IntSetting<RateLimitConfig>("ipv4Prefix", 1, 32, c => c.Ipv4Prefix, (c, v) => c with { Ipv4Prefix = v }),
        new IntSetting<RateLimitConfig>("ipv6Prefix", 1, 128, c => c.Ipv6Prefix, (c, v) => c with { Ipv6Prefix = v }),
        new IntSetting<RateLimitConfig>("pathSegments", 1, 32, c => c.PathSegments, (c, v) => c with { PathSegments = v }),
        new IntSetting<RateLimitConfig>("capacity", 64, MaxCapacity, c => c.Capacity, (c, v) => c with { Capacity = v }),
        new ListSetting<RateLimitConfig, RateLimitOverrideConfig>("overrides", RateLimitOverrideConfig.Schema, c => c.Overrides, (c, v) => c with { Overrides = v })
        {
            AllowEmpty = true,
        },
        new StringListSetting<RateLimitConfig>("allow", "an array of CIDRs or key values", c => c.Allow, (c, v) => c with { Allow = v }),
    ]);
}
