namespace PipeBalancer.Forwarding;

/// <summary>How one exchange with one backend ended, and so what the request loop does next.</summary>
internal enum ExchangeOutcome : byte
{
    /// <summary>The response went to the client; the connection may carry another request.</summary>
    KeepAlive,

    /// <summary>The response went to the client (or a tunnel ended); the connection must close.</summary>
    Close,

    /// <summary>A pooled connection failed before any response byte, with nothing that makes a resend unsafe: send again on a fresh one.</summary>
    StaleConnection,

    /// <summary>The backend closed or reset before a complete response head (charged to it; 502).</summary>
    BackendFailed,

    /// <summary>The backend's response head was not valid HTTP/1.x, or too large (charged to it; 502).</summary>
    BadResponse,

    /// <summary>No response head within <c>timeouts.responseHeadMs</c> (charged to the backend; 504).</summary>
    TimedOut,

    /// <summary>The client's body broke its framing or the body limit: the client gets 400 or 413.</summary>
    ClientRejected,

    /// <summary>The client went away inside its body: nobody to answer, nobody to charge.</summary>
    ClientGone,

    /// <summary>Something failed after the response had started: the client connection is aborted.</summary>
    Abort,
}
