namespace PipeBalancer.Http1;

/// <summary>Size limits on request heads and bodies (<c>limits</c> in lb.json).</summary>
internal sealed record HttpLimits
{
    /// <summary>Longest request line: 8 KB, nginx's large_client_header_buffers default.</summary>
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;

    /// <summary>Largest header section (after the request line): 32 KB, as Kestrel's default.</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    /// <summary>Most header fields: 100, as Kestrel's and HAProxy's defaults.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Largest request body, or 0 for no limit (the default, as HAProxy).</summary>
    public long MaxBodyBytes { get; init; }

    /// <summary>The defaults above.</summary>
    public static readonly HttpLimits Default = new();

    /// <summary>Largest head the parser ever holds: request line, headers and line endings.</summary>
    public int MaxHeadBytes => MaxRequestLineBytes + MaxHeaderBytes + 8;
}
