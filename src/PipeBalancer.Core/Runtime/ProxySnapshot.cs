using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Runtime;

/// <summary>One configuration in force: read once per request, never changed.</summary>
internal sealed class ProxySnapshot
{
    internal ProxySnapshot(BalancerConfig config, BackendSet backends, long generation, bool changedAtRuntime)
    {
        Config = config;
        Backends = backends;
        Generation = generation;
        ChangedAtRuntime = changedAtRuntime;
    }

    /// <summary>The configuration.</summary>
    public BalancerConfig Config { get; }

    /// <summary>The backends and routing table.</summary>
    public BackendSet Backends { get; }

    /// <summary>1 for the configuration read at start, one more for each change applied since.</summary>
    public long Generation { get; }

    /// <summary>The rate limiters, by listener.</summary>
    public RateLimiterSet RateLimits { get; init; } = RateLimiterSet.Empty;

    /// <summary>Whether the admin API has changed the backends since the file was last applied.</summary>
    public bool ChangedAtRuntime { get; }
}
