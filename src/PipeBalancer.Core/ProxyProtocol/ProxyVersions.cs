namespace PipeBalancer.ProxyProtocol;

/// <summary>The PROXY protocol versions a listener accepts from its trusted sources.</summary>
[Flags]
internal enum ProxyVersions
{
    /// <summary>Version 1, the text header.</summary>
    V1 = 1,

    /// <summary>Version 2, the binary header.</summary>
    V2 = 2,

    /// <summary>Either; the first bytes tell which.</summary>
    Any = V1 | V2,
}
