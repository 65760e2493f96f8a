using PipeBalancer.Http1;

namespace PipeBalancer.Configuration;

/// <summary>The whole of lb.json, validated. Immutable: a reload builds a new one.</summary>
internal sealed record BalancerConfig(
    IReadOnlyList<ListenerConfig> Listeners,
    AdminConfig Admin,
    RoutingConfig Routing,
    IReadOnlyList<BackendConfig> Backends)
{
    /// <summary>The <c>limits</c> section: request size limits.</summary>
    public HttpLimits Limits { get; init; } = HttpLimits.Default;

    /// <summary>The <c>timeouts</c> section.</summary>
    public TimeoutConfig Timeouts { get; init; } = TimeoutConfig.Default;

    /// <summary>The <c>forwardedHeaders</c> section.</summary>
    public ForwardedHeadersConfig ForwardedHeaders { get; init; } = ForwardedHeadersConfig.Default;

    /// <summary>The <c>pool</c> section: idle backend connections.</summary>
    public PoolConfig Pool { get; init; } = PoolConfig.Default;

    /// <summary>The <c>health</c> section: active health checks.</summary>
    public HealthConfig Health { get; init; } = HealthConfig.Default;

    /// <summary>The <c>circuit</c> section: passive failure detection.</summary>
    public CircuitConfig Circuit { get; init; } = CircuitConfig.Default;

    /// <summary>The <c>retries</c> section.</summary>
    public RetryConfig Retries { get; init; } = RetryConfig.Default;

    /// <summary>The <c>proxyProtocol</c> section: the PROXY header sent to backends.</summary>
    public ProxyProtocolConfig ProxyProtocol { get; init; } = ProxyProtocolConfig.Default;

    /// <summary>The <c>rateLimits</c> list: per-key token buckets on listeners.</summary>
    public IReadOnlyList<RateLimitConfig> RateLimits { get; init; } = [];

    /// <summary>The <c>tracing</c> section: trace context, spans, OTLP export.</summary>
    public TracingConfig Tracing { get; init; } = TracingConfig.Default;

    /// <summary>The <c>requestId</c> section.</summary>
    public RequestIdConfig RequestId { get; init; } = RequestIdConfig.Default;

    /// <summary>The <c>discovery</c> list: backend groups found through DNS (none by default).</summary>
    public IReadOnlyList<DiscoveryConfig> Discovery { get; init; } = [];

    /// <summary>The <c>cluster</c> section: runtime backend state shared through etcd; null when absent.</summary>
    public ClusterConfig? Cluster { get; init; }

    // The sections in the order the reference lists them (and "expected one of" names them).
    internal static readonly ConfigSchema<BalancerConfig> Schema = new(new([], AdminConfig.Default, RoutingConfig.Default, []),
    [
        new ListSetting<BalancerConfig, ListenerConfig>("listeners", ListenerConfig.Schema, c => c.Listeners, (c, v) => c with { Listeners = v }) { Required = true },
        Section("admin", AdminConfig.Schema, c => c.Admin, (c, v) => c with { Admin = v }),
        Section("routing", RoutingConfig.Schema, c => c.Routing, (c, v) => c with { Routing = v }),
        // Required unless discovery gives backends (BackendValidator says so); the backends found
        // through DNS are printed as their discovery entry, not as backends.
        new ListSetting<BalancerConfig, BackendConfig>("backends", BackendConfig.Schema, c => c.Backends, (c, v) => c with { Backends = v })
        {
            AllowEmpty = true,
            Printed = b => b.Group is null,
        },
        Section("limits", LimitsSettings.Schema, c => c.Limits, (c, v) => c with { Limits = v }),
        Section("timeouts", TimeoutConfig.Schema, c => c.Timeouts, (c, v) => c with { Timeouts = v }),
        Section("forwardedHeaders", ForwardedHeadersConfig.Schema, c => c.ForwardedHeaders, (c, v) => c with { ForwardedHeaders = v }),
        Section("pool", PoolConfig.Schema, c => c.Pool, (c, v) => c with { Pool = v }),
        Section("health", HealthConfig.Schema, c => c.Health, (c, v) => c with { Health = v }),
        Section("circuit", CircuitConfig.Schema, c => c.Circuit, (c, v) => c with { Circuit = v }),
        Section("retries", RetryConfig.Schema, c => c.Retries, (c, v) => c with { Retries = v }),
        Section("proxyProtocol", ProxyProtocolConfig.Schema, c => c.ProxyProtocol, (c, v) => c with { ProxyProtocol = v }),
        new ListSetting<BalancerConfig, RateLimitConfig>("rateLimits", RateLimitConfig.Schema, c => c.RateLimits, (c, v) => c with { RateLimits = v }) { AllowEmpty = true },
        Section("tracing", TracingConfig.Schema, c => c.Tracing, (c, v) => c with { Tracing = v }),
        Section("requestId", RequestIdConfig.Schema, c => c.RequestId, (c, v) => c with { RequestId = v }),
        new ListSetting<BalancerConfig, DiscoveryConfig>("discovery", DiscoveryConfig.Schema, c => c.Discovery, (c, v) => c with { Discovery = v }) { AllowEmpty = true },
        new ObjectSetting<BalancerConfig, ClusterConfig>("cluster", ClusterConfig.Schema, c => c.Cluster, (c, v) => c with { Cluster = v }, _ => ClusterConfig.Schema.Defaults),
    ]);

    private static ObjectSetting<BalancerConfig, TSection> Section<TSection>(
        string name, ConfigSchema<TSection> schema, Func<BalancerConfig, TSection> get, Func<BalancerConfig, TSection, BalancerConfig> set)
        where TSection : class => new(name, schema, get, set, _ => schema.Defaults);
}
