namespace PipeBalancer.Forwarding;

/// <summary>How the request body pump ended.</summary>
internal enum PumpResult : byte
{
    /// <summary>The whole body was sent and flushed to the backend.</summary>
    Sent,

    /// <summary>The client closed, reset, or the exchange stopped the pump before the body ended.</summary>
    ClientGone,

    /// <summary>The client's body broke its framing or the body limit, or stalled (<see cref="RequestBodyPump.Error"/> says which).</summary>
    BadBody,

    /// <summary>The backend stopped taking bytes (closed or reset) before the body ended.</summary>
    BackendGone,
}
