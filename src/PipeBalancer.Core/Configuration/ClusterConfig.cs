namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>cluster</c> section: the etcd cluster through which several balancers share the
/// runtime changes of their backends (add, remove, weight, drain). Absent, each balancer keeps
/// its changes to itself.
/// </summary>
/// <param name="Endpoints">etcd's client URLs (<c>http://10.0.0.5:2379</c>); the balancer moves to the next when one fails.</param>
internal sealed record ClusterConfig(IReadOnlyList<string> Endpoints)
{
    /// <summary>The key prefix when the section gives none.</summary>
    public const string DefaultPrefix = "/pipebalancer/";

    /// <summary>The value a section starts from before its properties are read.</summary>
    public static readonly ClusterConfig Blank = new([]);

    /// <summary>Every key the balancers write starts with this; balancers sharing a prefix share their backends.</summary>
    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>This instance's name in <c>GET /api/cluster</c>; null: the host name and the admin port.</summary>
    public string? Name { get; init; }

    /// <summary>etcd user name, when etcd's authentication is on.</summary>
    public string? Username { get; init; }

    /// <summary>That user's password.</summary>
    public string? Password { get; init; }

    /// <summary>Trust and client certificate for <c>https</c> endpoints, else null.</summary>
    public ClusterTlsConfig? Tls { get; init; }

    /// <summary>Seconds the registration of an instance outlives it: a stopped or cut-off instance leaves the list after this.</summary>
    public int LeaseTtlSeconds { get; init; } = 10;

    /// <summary>How long one etcd call may take before the next endpoint is tried; a change is refused with 503 once all have failed.</summary>
    public int RequestTimeoutMs { get; init; } = 2000;

    internal static readonly ConfigSchema<ClusterConfig> Schema = new(Blank,
    [
        new StringListSetting<ClusterConfig>("endpoints", "an array of URLs", c => c.Endpoints, (c, v) => c with { Endpoints = v }) { Required = true },
        new StringSetting<ClusterConfig>("prefix", c => c.Prefix, (c, v) => c with { Prefix = v! }),
        new StringSetting<ClusterConfig>("name", c => c.Name, (c, v) => c with { Name = v }),
        new StringSetting<ClusterConfig>("username", c => c.Username, (c, v) => c with { Username = v }),
        new StringSetting<ClusterConfig>("password", c => c.Password, (c, v) => c with { Password = v }) { Secret = true },
        new ObjectSetting<ClusterConfig, ClusterTlsConfig>("tls", ClusterTlsConfig.Schema, c => c.Tls, (c, v) => c with { Tls = v }, _ => ClusterTlsConfig.Schema.Defaults),
        new IntSetting<ClusterConfig>("leaseTtlSeconds", 2, 600, c => c.LeaseTtlSeconds, (c, v) => c with { LeaseTtlSeconds = v }),
        new IntSetting<ClusterConfig>("requestTimeoutMs", 100, 60_000, c => c.RequestTimeoutMs, (c, v) => c with { RequestTimeoutMs = v }),
    ]);
}
