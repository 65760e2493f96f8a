namespace PipeBalancer.Forwarding;

/// <summary>
/// Bounds on what the balancer reads of a request body after the response to it is complete (a
/// backend that answered before taking the whole body), and on the lingering close that follows
/// when that body does not end within them. They are nginx's defaults for the same job
/// (<c>lingering_time</c>, <c>lingering_timeout</c>); nginx has no byte bound, which here keeps a
/// client that streams without end from costing a core for the whole window.
/// </summary>
internal static class DiscardLimits
{
    /// <summary>
    /// The window after the response's end in which the rest of the body, and then any lingering
    /// close, must be done (nginx's <c>lingering_time</c>, 30 s).
    /// </summary>
    public const int WindowMs = 30_000;

    /// <summary>
    /// The longest a lingering close waits for the client's next bytes (nginx's
    /// <c>lingering_timeout</c>, 5 s; <c>timeouts.clientBodyMs</c> when that is shorter).
    /// </summary>
    public const int LingerIdleMs = 5_000;

    /// <summary>
    /// Body bytes read and thrown away after the response before the client connection is given
    /// up on (16 MB), and again during the lingering close.
    /// </summary>
    public const long MaxBytes = 16L * 1024 * 1024;
}
