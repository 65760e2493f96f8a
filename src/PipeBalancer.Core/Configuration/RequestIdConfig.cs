namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>requestId</c> section: a request id kept when the client sent a valid one, generated
/// when it sent none (or an invalid one), forwarded to the backend and written to the access log.
/// Off by default.
/// </summary>
internal sealed record RequestIdConfig
{
    /// <summary>The longest id kept from a client (Heroku's router takes 20 to 200 characters); a longer one is replaced.</summary>
    public const int MaxLength = 200;

    /// <summary>Off: the header passes through as the client sent it.</summary>
    public static readonly RequestIdConfig Default = new();

    /// <summary>Whether the balancer sees to it that every forwarded request carries an id.</summary>
    public bool Enabled { get; init; }

    /// <summary>The field that carries the id.</summary>
    public string Header { get; init; } = "X-Request-Id";

    internal static readonly ConfigSchema<RequestIdConfig> Schema = new(Default,
    [
        new BoolSetting<RequestIdConfig>("enabled", c => c.Enabled, (c, v) => c with { Enabled = v }),
        new StringSetting<RequestIdConfig>("header", c => c.Header, (c, v) => c with { Header = v ?? "" }),
    ]);
}
