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

    /// <summary>
    /// The backend stopped taking bytes (closed, reset, or the exchange stopped sending to it
    /// after a complete response) and the rest of the body was more than
    /// <see cref="DiscardLimits.MaxBytes"/> to throw away: the body did not end.
    /// </summary>
    BackendGone,

    /// <summary>The body ended, but not all of it went to the backend: the rest was read and thrown away.</summary>
    Discarded,
}
