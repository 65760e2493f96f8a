namespace PipeBalancer.Configuration;

/// <summary>The <c>admin</c> section: where the side app with stats and metrics listens.</summary>
/// <param name="Address">The admin app's address.</param>
internal sealed record AdminConfig(HostPort Address)
{
    /// <summary>The address used when lb.json has no <c>admin</c> section.</summary>
    public static readonly HostPort DefaultAddress = new("127.0.0.1", 9090);

    /// <summary>The section when lb.json has none.</summary>
    public static readonly AdminConfig Default = new(DefaultAddress);

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

    internal static readonly ConfigSchema<AdminConfig> Schema = new(Default,
    [
        new TextSetting<AdminConfig, HostPort>("address", "address", AddressSyntax.Listen, AddressSyntax.Format, c => c.Address, (c, v) => c with { Address = v }),
        new StringSetting<AdminConfig>("token", c => c.Token, (c, v) => c with { Token = v }) { Secret = true },
        new StringListSetting<AdminConfig>("corsOrigins", "an array of origins", c => c.CorsOrigins, (c, v) => c with { CorsOrigins = v }),
        new StringListSetting<AdminConfig>("allowedHosts", "an array of host names", c => c.AllowedHosts, (c, v) => c with { AllowedHosts = v }),
        new IntSetting<AdminConfig>("rateLimitPerSecond", 0, 1_000_000, c => c.RateLimitPerSecond, (c, v) => c with { RateLimitPerSecond = v }),
    ]);
}
