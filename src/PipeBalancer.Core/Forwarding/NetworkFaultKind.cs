namespace PipeBalancer.Forwarding;

/// <summary>What an exception on a connection says happened, as far as the balancer cares.</summary>
internal enum NetworkFaultKind : byte
{
    /// <summary>Not a network event: a broken contract or a bug in the balancer itself.</summary>
    None,

    /// <summary>The peer reset the connection or it broke (RST, broken pipe, host unreachable mid-stream).</summary>
    Reset,

    /// <summary>The connection was aborted locally (shutdown, an abort by the transport).</summary>
    Aborted,

    /// <summary>A connect or read timed out (the balancer's own timeout, or the kernel's).</summary>
    TimedOut,

    /// <summary>The peer refused the connection, or its address is unreachable.</summary>
    Refused,

    /// <summary>A local resource ran out (file descriptors, buffers, ports): nobody else's fault.</summary>
    LocalLimit,
}
