namespace PipeBalancer.Routing;

/// <summary>How a routing table maps a key to a backend (<c>routing.algorithm</c>).</summary>
public enum RoutingAlgorithm
{
    /// <summary><c>ring</c>: consistent hashing over virtual nodes.</summary>
    Ring,

    /// <summary><c>ring-bounded</c>: the ring, skipping servers above the bounded-load cap.</summary>
    RingBounded,

    /// <summary><c>maglev</c>: Google's Maglev lookup table.</summary>
    Maglev,

    /// <summary><c>nginx</c>: the same choice as nginx's <c>hash $key consistent</c>.</summary>
    Nginx,

    /// <summary><c>round-robin</c>: smooth weighted round robin, no affinity.</summary>
    RoundRobin,

    /// <summary><c>least-connections</c>: power of two random choices on in-flight requests.</summary>
    LeastConnections,
}

/// <summary>The lb.json names of <see cref="RoutingAlgorithm"/> and <see cref="HashFunction"/>.</summary>
internal static class RoutingNames
{
    /// <summary>Every algorithm with its lb.json name.</summary>
    public static readonly IReadOnlyList<(string Name, RoutingAlgorithm Value)> Algorithms =
    [
        ("ring", RoutingAlgorithm.Ring),
        ("ring-bounded", RoutingAlgorithm.RingBounded),
        ("maglev", RoutingAlgorithm.Maglev),
        ("nginx", RoutingAlgorithm.Nginx),
        ("round-robin", RoutingAlgorithm.RoundRobin),
        ("least-connections", RoutingAlgorithm.LeastConnections),
    ];

    /// <summary>Every hash function with its lb.json name.</summary>
    public static readonly IReadOnlyList<(string Name, HashFunction Value)> Hashes =
    [
        ("xxhash3", HashFunction.XxHash3),
        ("fnv1a", HashFunction.Fnv1a),
        ("djb2", HashFunction.Djb2),
        ("md5", HashFunction.Md5),
        ("crc32", HashFunction.Crc32),
    ];

    /// <summary>The lb.json name of <paramref name="algorithm"/>.</summary>
    public static string Of(RoutingAlgorithm algorithm) => Algorithms.First(a => a.Value == algorithm).Name;

    /// <summary>The lb.json name of <paramref name="hash"/>.</summary>
    public static string Of(HashFunction hash) => Hashes.First(h => h.Value == hash).Name;
}
