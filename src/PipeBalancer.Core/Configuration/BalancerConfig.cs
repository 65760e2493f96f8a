using PipeBalancer.Http1;
using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>The whole of lb.json, validated. Immutable: a reload builds a new one.</summary>
public sealed record BalancerConfig(
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
}

/// <summary>
/// The <c>retries</c> section: a request without a body and with an idempotent method that fails
/// after it was sent, before any response byte, is tried on the next server.
/// </summary>
public sealed record RetryConfig
{
    /// <summary>The defaults: 2 retries, a budget of 20% of requests over 10 s (Envoy's default budget).</summary>
    public static readonly RetryConfig Default = new();

    /// <summary>Retries per request after a failure once the request was sent.</summary>
    public int Max { get; init; } = 2;

    /// <summary>Retries may add at most this share of the request rate.</summary>
    public int BudgetPercent { get; init; } = 20;

    /// <summary>The window the budget is counted over.</summary>
    public int BudgetWindowSeconds { get; init; } = 10;

    /// <summary>Retries always allowed per window, however few the requests.</summary>
    public int MinRetriesPerWindow { get; init; } = 3;

    /// <summary>Largest body kept so that an idempotent request with a body can be retried (0: never retry one).</summary>
    public int MaxBufferedBodyBytes { get; init; } = 64 * 1024;
}

/// <summary>The <c>circuit</c> section: when failures take a backend out (circuit breaking).</summary>
public sealed record CircuitConfig
{
    /// <summary>The defaults: 5 failures in a row open the circuit for 5 s, doubling up to 60 s.</summary>
    public static readonly CircuitConfig Default = new();

    /// <summary>Whether passive failures take backends out at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Failures in a row that open the circuit.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>The first cool-down; it doubles on each reopening.</summary>
    public int CooldownMs { get; init; } = 5000;

    /// <summary>The longest cool-down.</summary>
    public int MaxCooldownMs { get; init; } = 60_000;

    /// <summary>Whether a 5xx response counts as a failure.</summary>
    public bool Count5xx { get; init; }
}

/// <summary>The <c>health</c> section: how backends are checked.</summary>
public sealed record HealthConfig
{
    /// <summary>The defaults: checks on, rise 2 and fall 3 as HAProxy's.</summary>
    public static readonly HealthConfig Default = new();

    /// <summary>Whether backends are checked at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The path requested.</summary>
    public string Path { get; init; } = "/health";

    /// <summary>GET or HEAD.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Time between checks of a backend (with jitter).</summary>
    public int IntervalMs { get; init; } = 2000;

    /// <summary>Time a check may take.</summary>
    public int TimeoutMs { get; init; } = 1000;

    /// <summary>Lowest passing status.</summary>
    public int StatusMin { get; init; } = 200;

    /// <summary>Highest passing status.</summary>
    public int StatusMax { get; init; } = 399;

    /// <summary>A substring the body must contain, or null.</summary>
    public string? ExpectBody { get; init; }

    /// <summary>Consecutive passes that make a backend healthy.</summary>
    public int Rise { get; init; } = 2;

    /// <summary>Consecutive failures that make a backend unhealthy.</summary>
    public int Fall { get; init; } = 3;

    /// <summary>Longest interval while a backend is unhealthy (the interval doubles per failure up to this).</summary>
    public int MaxBackoffMs { get; init; } = 30_000;

    /// <summary>Spread of each interval, as a fraction (0.1 = +/- 10%).</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Whether a backend no check has decided on yet takes traffic.</summary>
    public bool UnknownTakesTraffic { get; init; } = true;

    /// <summary>
    /// Panic mode (0 = off): when fewer than this percentage of backends are eligible, route over
    /// all of them as if healthy, rather than pile everything on the few left (as Envoy does).
    /// </summary>
    public int PanicThresholdPercent { get; init; }

    /// <summary>
    /// Slow start (0 = off): a backend that recovers takes its points back in ten steps over
    /// this time, so a cold cache is not flooded at once.
    /// </summary>
    public int SlowStartMs { get; init; }
}

/// <summary>The <c>timeouts</c> section, in milliseconds.</summary>
public sealed record TimeoutConfig
{
    /// <summary>The defaults, each named after the peer whose default it follows.</summary>
    public static readonly TimeoutConfig Default = new();

    /// <summary>Time for a whole request head to arrive once its first byte has (slowloris guard): 10 s, a common HAProxy <c>timeout http-request</c>.</summary>
    public int HeadersMs { get; init; } = 10_000;

    /// <summary>How long an idle client connection waits for its next request: 75 s, nginx's keepalive_timeout.</summary>
    public int KeepAliveMs { get; init; } = 75_000;

    /// <summary>Time to open a backend connection: 5 s, HAProxy's usual <c>timeout connect</c>.</summary>
    public int ConnectMs { get; init; } = 5_000;

    /// <summary>Time from sending a request to the backend's response head: 60 s, nginx's proxy_read_timeout.</summary>
    public int ResponseHeadMs { get; init; } = 60_000;

    /// <summary>How long an idle pooled backend connection is kept: 60 s, nginx's upstream keepalive_timeout.</summary>
    public int BackendIdleMs { get; init; } = 60_000;

    /// <summary>
    /// On SIGTERM, or a listener removed by a reload: how long requests in flight may take to
    /// finish before their connections are closed. 30 s, the .NET host's shutdown timeout and
    /// systemd's default stop timeout is 90 s, so the balancer finishes first.
    /// </summary>
    public int ShutdownTimeoutMs { get; init; } = 30_000;
}

/// <summary>The <c>forwardedHeaders</c> section: which X-Forwarded-* fields the balancer adds.</summary>
public sealed record ForwardedHeadersConfig(bool For = true, bool Proto = true, bool Host = true)
{
    /// <summary>All three on.</summary>
    public static readonly ForwardedHeadersConfig Default = new();
}

/// <summary>The <c>pool</c> section.</summary>
public sealed record PoolConfig(int MaxIdlePerBackend = 128)
{
    /// <summary>The defaults.</summary>
    public static readonly PoolConfig Default = new();
}

/// <summary>How a listener treats its connections.</summary>
public enum ListenerMode
{
    /// <summary>HTTP/1.1 (L7): every request is routed on its own key.</summary>
    Http,

    /// <summary>TCP (L4): the connection is routed on the client address and spliced.</summary>
    Tcp,
}

/// <summary>One entry of <c>listeners[]</c>.</summary>
public sealed record ListenerConfig(string Name, HostPort Address, ListenerMode Mode)
{
    /// <summary>TLS termination for this listener, or null for plain TCP.</summary>
    public TlsConfig? Tls { get; init; }
}

/// <summary><c>listeners[].tls</c>: the PEM files of the listener's certificate (chain) and private key.</summary>
public sealed record TlsConfig(string Certificate, string Key);

/// <summary>The <c>admin</c> section: where the side app with stats and metrics listens.</summary>
public sealed record AdminConfig(HostPort Address)
{
    /// <summary>The address used when lb.json has no <c>admin</c> section.</summary>
    public static readonly HostPort DefaultAddress = new("127.0.0.1", 9090);

    /// <summary>The shortest token accepted: 16 characters, about 96 bits from a random base64 string.</summary>
    public const int MinTokenLength = 16;

    /// <summary>When set, every mutating admin call needs <c>Authorization: Bearer</c> with it.</summary>
    public string? Token { get; init; }

    /// <summary>Origins allowed to call the admin API from a browser; empty means CORS is off.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>
    /// Host names (or IP addresses) the admin app answers to besides its own address, with any
    /// port; a request with any other Host gets 421.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Admin requests allowed per second from one client address (0: no limit).</summary>
    public int RateLimitPerSecond { get; init; } = 100;

    /// <summary>Whether the admin address only takes connections from this machine.</summary>
    public bool IsLoopback => Address.IPAddress is { } ip ? System.Net.IPAddress.IsLoopback(ip) : Address.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase);
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
public sealed record BackendConfig(string Id, HostPort Address, int Weight)
{
    /// <summary>Whether the backend is draining: no new requests, in-flight ones finish, idle connections close.</summary>
    public bool Drain { get; init; }

    /// <summary>This backend's health checks when <c>backends[i].health</c> overrides the <c>health</c> section, else null.</summary>
    public HealthConfig? Health { get; init; }
}
