namespace PipeBalancer.ProxyProtocol;

/// <summary>Which PROXY header the balancer sends on each new connection to a backend.</summary>
internal enum ProxySend
{
    /// <summary>A backend's own setting only: what the <c>proxyProtocol</c> section says.</summary>
    Inherit,

    /// <summary>No header.</summary>
    Off,

    /// <summary>The version 1 text header.</summary>
    V1,

    /// <summary>The version 2 binary header.</summary>
    V2,
}
