namespace PipeBalancer.Configuration;

/// <summary>The <c>timeouts</c> section, in milliseconds.</summary>
internal sealed record TimeoutConfig
{
    /// <summary>The defaults, each named after the peer whose default it follows.</summary>
    public static readonly TimeoutConfig Default = new();

    private const int Day = 24 * 3600 * 1000;

    /// <summary>Time for a whole request head to arrive once its first byte has (slowloris guard): 10 s, a common HAProxy <c>timeout http-request</c>.</summary>
    public int HeadersMs { get; init; } = 10_000;

    /// <summary>How long an idle client connection waits for its next request: 75 s, nginx's keepalive_timeout.</summary>
    public int KeepAliveMs { get; init; } = 75_000;

    /// <summary>Time to open a backend connection: 5 s, HAProxy's usual <c>timeout connect</c>.</summary>
    public int ConnectMs { get; init; } = 5_000;

    /// <summary>Time from sending a request to the backend's response head: 60 s, nginx's proxy_read_timeout.</summary>
    public int ResponseHeadMs { get; init; } = 60_000;

    /// <summary>
    /// The longest wait for the next byte of a request body from the client: 60 s, nginx's
    /// <c>client_body_timeout</c>. A stalled upload is the client's fault: 408 (or the connection
    /// closed once the response has started), and nothing is charged to the backend.
    /// </summary>
    public int ClientBodyMs { get; init; } = 60_000;

    /// <summary>
    /// The longest a write to the client may wait for the client to read: 60 s, nginx's
    /// <c>send_timeout</c>. A client that stops reading is disconnected and its backend
    /// connection closed (not pooled, not charged).
    /// </summary>
    public int ClientSendMs { get; init; } = 60_000;

    /// <summary>How long an idle pooled backend connection is kept: 60 s, nginx's upstream keepalive_timeout.</summary>
    public int BackendIdleMs { get; init; } = 60_000;

    /// <summary>
    /// On SIGTERM, or a listener removed by a reload: how long requests in flight may take to
    /// finish before their connections are closed. 30 s, the .NET host's shutdown timeout and
    /// systemd's default stop timeout is 90 s, so the balancer finishes first.
    /// </summary>
    public int ShutdownTimeoutMs { get; init; } = 30_000;

    internal static readonly ConfigSchema<TimeoutConfig> Schema = new(Default,
    [
        new IntSetting<TimeoutConfig>("headersMs", 100, Day, c => c.HeadersMs, (c, v) => c with { HeadersMs = v }),
        new IntSetting<TimeoutConfig>("keepAliveMs", 100, Day, c => c.KeepAliveMs, (c, v) => c with { KeepAliveMs = v }),
        new IntSetting<TimeoutConfig>("connectMs", 10, Day, c => c.ConnectMs, (c, v) => c with { ConnectMs = v }),
        new IntSetting<TimeoutConfig>("responseHeadMs", 100, Day, c => c.ResponseHeadMs, (c, v) => c with { ResponseHeadMs = v }),
        new IntSetting<TimeoutConfig>("clientBodyMs", 100, Day, c => c.ClientBodyMs, (c, v) => c with { ClientBodyMs = v }),
        new IntSetting<TimeoutConfig>("clientSendMs", 100, Day, c => c.ClientSendMs, (c, v) => c with { ClientSendMs = v }),
        new IntSetting<TimeoutConfig>("backendIdleMs", 100, Day, c => c.BackendIdleMs, (c, v) => c with { BackendIdleMs = v }),
        new IntSetting<TimeoutConfig>("shutdownTimeoutMs", 0, Day, c => c.ShutdownTimeoutMs, (c, v) => c with { ShutdownTimeoutMs = v }),
    ]);
}
