using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>The <c>routing</c> section.</summary>
/// <param name="Algorithm">How a key maps to a backend.</param>
/// <param name="Hash">The hash function over the key.</param>
/// <param name="VirtualNodes">Ring points per unit of weight.</param>
/// <param name="Key">Where a request's key comes from.</param>
/// <param name="LoadFactor">ring-bounded's cap over the average load.</param>
/// <param name="TableSize">Maglev's table size, a prime.</param>
internal sealed record RoutingConfig(
    RoutingAlgorithm Algorithm,
    HashFunction Hash,
    int VirtualNodes,
    KeySource Key,
    double LoadFactor,
    int TableSize)
{
    /// <summary>Points per weight unit when lb.json does not say; nginx uses the same number.</summary>
    public const int DefaultVirtualNodes = 160;

    /// <summary>ring-bounded's c: a server may carry 25% more than the average in flight.</summary>
    public const double DefaultLoadFactor = 1.25;

    /// <summary>The Maglev paper's small table size, a prime.</summary>
    public const int DefaultTableSize = 65537;

    /// <summary>Largest Maglev table: 2 MB.</summary>
    public const int MaxTableSize = 1_000_003;

    /// <summary>The routing used when lb.json has no <c>routing</c> section.</summary>
    public static readonly RoutingConfig Default = new(
        RoutingAlgorithm.Ring, HashFunction.XxHash3, DefaultVirtualNodes, KeySource.Path, DefaultLoadFactor, DefaultTableSize);

    internal static readonly ConfigSchema<RoutingConfig> Schema = new(Default,
    [
        new ChoiceSetting<RoutingConfig, RoutingAlgorithm>("algorithm", RoutingNames.Algorithms, c => c.Algorithm, (c, v) => c with { Algorithm = v }),
        new ChoiceSetting<RoutingConfig, HashFunction>("hash", RoutingNames.Hashes, c => c.Hash, (c, v) => c with { Hash = v }),
        new IntSetting<RoutingConfig>("virtualNodes", 1, 10_000, c => c.VirtualNodes, (c, v) => c with { VirtualNodes = v }),
        new TextSetting<RoutingConfig, KeySource>("key", "string", KeySource.TryParse, k => k.ToString(), c => c.Key, (c, v) => c with { Key = v }),
        new NumberSetting<RoutingConfig>("loadFactor", 1.0, 100.0, exclusiveMin: true, c => c.LoadFactor, (c, v) => c with { LoadFactor = v }),
        new IntSetting<RoutingConfig>("tableSize", 101, MaxTableSize, c => c.TableSize, (c, v) => c with { TableSize = v }),
    ]);
}
