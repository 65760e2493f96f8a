namespace PipeBalancer.ProxyProtocol;

/// <summary>Why a connection was closed at its PROXY header; each is counted in stats and metrics.</summary>
internal enum ProxyHeaderError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>A source outside the trusted networks sent a header (it could name any address).</summary>
    Untrusted,

    /// <summary>A trusted source sent bytes that do not start a PROXY header.</summary>
    Missing,

    /// <summary>A header of a version the listener does not accept.</summary>
    Version,

    /// <summary>A header that breaks the protocol's syntax or lengths.</summary>
    Malformed,

    /// <summary>The connection closed inside the header.</summary>
    Truncated,

    /// <summary>The header did not arrive within <c>timeouts.headersMs</c>.</summary>
    Timeout,
}
