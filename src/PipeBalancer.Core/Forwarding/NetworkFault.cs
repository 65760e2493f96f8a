using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The one place that decides whether an exception is a network event, by its type: socket
/// errors (by error code), I/O errors (what a socket or TLS stream throws when the peer goes
/// away) and Kestrel's reset and abort exceptions. Everything else, an
/// <see cref="InvalidOperationException"/> from a pipe, an <see cref="ObjectDisposedException"/>,
/// a <see cref="NullReferenceException"/>, is the balancer's own fault and must be logged, never
/// counted against a backend or a client. <see cref="OperationCanceledException"/> is not a
/// network event either: the balancer's own timeouts surface as
/// <see cref="SocketError.TimedOut"/> where they fire.
/// </summary>
internal static class NetworkFault
{
    /// <summary>Whether <paramref name="e"/> is a network event (see <see cref="Classify"/>).</summary>
    public static bool Is(Exception e) => Classify(e) != NetworkFaultKind.None;

    /// <summary>The network fault <paramref name="e"/> stands for, or <see cref="NetworkFaultKind.None"/>.</summary>
    public static NetworkFaultKind Classify(Exception e) => e switch
    {
        SocketException socket => Classify(socket.SocketErrorCode),

        // Kestrel's abort derives from OperationCanceledException: it is matched by its own type.
        ConnectionAbortedException => NetworkFaultKind.Aborted,
        ConnectionResetException => NetworkFaultKind.Reset,
        IOException { InnerException: SocketException inner } => Classify(inner.SocketErrorCode),

        // An assembly or file that failed to load (EMFILE among the causes) is the balancer's
        // own fault, although the runtime throws it as an IOException.
        FileLoadException or FileNotFoundException => NetworkFaultKind.None,

        // Any other IOException: a stream (TLS) that ended or broke under the peer. Pipes never
        // throw IOException for a broken contract.
        IOException => NetworkFaultKind.Reset,
        _ => NetworkFaultKind.None,
    };

    private static NetworkFaultKind Classify(SocketError error) => error switch
    {
        SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound or
            SocketError.HostDown or SocketError.NetworkDown or SocketError.AddressNotAvailable or SocketError.TryAgain or SocketError.NoData => NetworkFaultKind.Refused,
        SocketError.TimedOut => NetworkFaultKind.TimedOut,
        SocketError.OperationAborted or SocketError.ConnectionAborted or SocketError.Interrupted or SocketError.Shutdown => NetworkFaultKind.Aborted,
        SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.AddressAlreadyInUse or
            SocketError.ProcessLimit or SocketError.SystemNotReady => NetworkFaultKind.LocalLimit,
        _ => NetworkFaultKind.Reset,
    };
}
