namespace PipeBalancer.ProxyProtocol;

/// <summary>The names (stats, metrics) and descriptions (logs) of <see cref="ProxyHeaderError"/>.</summary>
internal static class ProxyHeaderErrors
{
    /// <summary>Every error but <see cref="ProxyHeaderError.None"/>.</summary>
    public static readonly ProxyHeaderError[] All = [.. Enum.GetValues<ProxyHeaderError>().Where(e => e != ProxyHeaderError.None)];

    /// <summary>The name in stats and the metrics' <c>reason</c> label.</summary>
    public static string Name(ProxyHeaderError error) => error switch
    {
        ProxyHeaderError.Untrusted => "untrusted",
        ProxyHeaderError.Missing => "missing",
        ProxyHeaderError.Version => "version",
        ProxyHeaderError.Malformed => "malformed",
        ProxyHeaderError.Truncated => "truncated",
        ProxyHeaderError.Timeout => "timeout",
        _ => "none",
    };

    /// <summary>What a log line says.</summary>
    public static string Describe(ProxyHeaderError error) => error switch
    {
        ProxyHeaderError.Untrusted => "a PROXY header from a source outside the listener's trusted networks",
        ProxyHeaderError.Missing => "a trusted source sent no PROXY header",
        ProxyHeaderError.Version => "a PROXY header of a version the listener does not accept",
        ProxyHeaderError.Malformed => "a malformed PROXY header",
        ProxyHeaderError.Truncated => "the connection closed inside its PROXY header",
        ProxyHeaderError.Timeout => "the PROXY header did not arrive within timeouts.headersMs",
        _ => "none",
    };
}
