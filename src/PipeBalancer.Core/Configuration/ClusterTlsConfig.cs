namespace PipeBalancer.Configuration;

/// <summary><c>cluster.tls</c>: how the balancer trusts etcd's certificate and, for client certificate authentication, which certificate it shows.</summary>
internal sealed record ClusterTlsConfig
{
    /// <summary>PEM file of the certificate authority that signed etcd's certificates; null: the system's store.</summary>
    public string? CaCertificate { get; init; }

    /// <summary>PEM file of the balancer's client certificate (with <see cref="Key"/>), else null.</summary>
    public string? Certificate { get; init; }

    /// <summary>PEM file of that certificate's private key.</summary>
    public string? Key { get; init; }

    internal static readonly ConfigSchema<ClusterTlsConfig> Schema = new(new(),
    [
        new StringSetting<ClusterTlsConfig>("caCertificate", c => c.CaCertificate, (c, v) => c with { CaCertificate = v }),
        new StringSetting<ClusterTlsConfig>("certificate", c => c.Certificate, (c, v) => c with { Certificate = v }),
        new StringSetting<ClusterTlsConfig>("key", c => c.Key, (c, v) => c with { Key = v }),
    ]);
}
