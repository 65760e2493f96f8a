using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>The whole of lb.json, validated. Immutable: a reload builds a new one.</summary>
public sealed record BalancerConfig(
    IReadOnlyList<ListenerConfig> Listeners,
    AdminConfig Admin,
    RoutingConfig Routing,
    IReadOnlyList<BackendConfig> Backends);

/// <summary>How a listener treats its connections.</summary>
public enum ListenerMode
{
    /// <summary>HTTP/1.1 (L7): every request is routed on its own key.</summary>
    Http,

    /// <summary>TCP (L4): the connection is routed on the client address and spliced.</summary>
    Tcp,
}

/// <summary>One entry of <c>listeners[]</c>.</summary>
public sealed record ListenerConfig(string Name, HostPort Address, ListenerMode Mode);

/// <summary>The <c>admin</c> section: where the side app with stats and metrics listens.</summary>
public sealed record AdminConfig(HostPort Address)
{
    /// <summary>The address used when lb.json has no <c>admin</c> section.</summary>
    public static readonly HostPort DefaultAddress = new("127.0.0.1", 9090);
}

/// <summary>The <c>routing</c> section.</summary>
public sealed record RoutingConfig(
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

    /// <summary>The routing used when lb.json has no <c>routing</c> section.</summary>
    public static readonly RoutingConfig Default = new(
        RoutingAlgorithm.Ring, HashFunction.XxHash3, DefaultVirtualNodes, KeySource.Path, DefaultLoadFactor, DefaultTableSize);
}

/// <summary>One entry of <c>backends[]</c>.</summary>
public sealed record BackendConfig(string Id, HostPort Address, int Weight);
