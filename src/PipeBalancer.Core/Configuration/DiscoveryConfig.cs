namespace PipeBalancer.Configuration;

/// <summary>
/// One entry of <c>discovery[]</c>: a group of backends found through DNS instead of listed,
/// either from SRV records (port and weight from each record) or from the A and AAAA records
/// of a name plus a port (a Kubernetes headless service).
/// </summary>
/// <param name="Group">Unique name of the group, shown in logs, stats and metrics.</param>
internal sealed record DiscoveryConfig(string Group)
{
    private const int Hour = 3600 * 1000;

    /// <summary>The SRV name to look up (e.g. <c>_http._tcp.web.default.svc.cluster.local</c>), or null.</summary>
    public string? Srv { get; init; }

    /// <summary>The name whose A and AAAA records are the backends' addresses, or null.</summary>
    public string? Name { get; init; }

    /// <summary>The port of every backend found from <see cref="Name"/> (0 with SRV: the records give it).</summary>
    public int Port { get; init; }

    /// <summary>The weight of every backend found from <see cref="Name"/> (SRV records carry their own).</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The DNS server asked (IP and port), or null for the servers of /etc/resolv.conf.</summary>
    public HostPort? Resolver { get; init; }

    /// <summary>Time one query may take before it counts as failed.</summary>
    public int TimeoutMs { get; init; } = 2000;

    /// <summary>Shortest time between lookups, whatever the records' TTL says; also the retry interval after a failure.</summary>
    public int MinRefreshMs { get; init; } = 5000;

    /// <summary>Longest time between lookups, whatever the records' TTL says.</summary>
    public int MaxRefreshMs { get; init; } = 300_000;

    /// <summary>Spread of each interval, as a fraction (0.1 = +/- 10%), so that instances do not ask at the same instant.</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Whether an answer without records empties the group (else the last set is kept).</summary>
    public bool AllowEmpty { get; init; }

    internal static readonly ConfigSchema<DiscoveryConfig> Schema = new(new(Group: null!),
    [
        new StringSetting<DiscoveryConfig>("group", c => c.Group, (c, v) => c with { Group = v! }) { Required = true },
        new StringSetting<DiscoveryConfig>("srv", c => c.Srv, (c, v) => c with { Srv = v }),
        new StringSetting<DiscoveryConfig>("name", c => c.Name, (c, v) => c with { Name = v }),
        new IntSetting<DiscoveryConfig>("port", 0, 65535, c => c.Port, (c, v) => c with { Port = v }),
        new IntSetting<DiscoveryConfig>("weight", 1, 1000, c => c.Weight, (c, v) => c with { Weight = v }),
        new TextSetting<DiscoveryConfig, HostPort>("resolver", "address", AddressSyntax.Connect, AddressSyntax.Format, c => c.Resolver, (c, v) => c with { Resolver = v }),
        new IntSetting<DiscoveryConfig>("timeoutMs", 10, 60_000, c => c.TimeoutMs, (c, v) => c with { TimeoutMs = v }),
        new IntSetting<DiscoveryConfig>("minRefreshMs", 100, Hour, c => c.MinRefreshMs, (c, v) => c with { MinRefreshMs = v }),
        new IntSetting<DiscoveryConfig>("maxRefreshMs", 100, 24 * Hour, c => c.MaxRefreshMs, (c, v) => c with { MaxRefreshMs = v }),
        new NumberSetting<DiscoveryConfig>("jitter", 0, 0.5, exclusiveMin: false, c => c.Jitter, (c, v) => c with { Jitter = v }),
        new BoolSetting<DiscoveryConfig>("allowEmpty", c => c.AllowEmpty, (c, v) => c with { AllowEmpty = v }),
    ]);
}
