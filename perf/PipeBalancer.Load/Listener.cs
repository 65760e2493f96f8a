namespace PipeBalancer.Load;

/// <summary>Which of a proxy's three front doors a workload goes through.</summary>
internal enum Listener
{
    /// <summary>HTTP/1.1 over plain TCP (L7).</summary>
    Http,

    /// <summary>HTTP/1.1 over TLS, terminated by the proxy (ECDSA P-256 certificate).</summary>
    Https,

    /// <summary>L4: connections spliced to a backend chosen by the client address.</summary>
    Tcp,
}
