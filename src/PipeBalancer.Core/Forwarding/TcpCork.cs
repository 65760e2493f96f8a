using System.Net.Sockets;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Holds partial TCP segments back while a Content-Length body goes out (Linux <c>TCP_CORK</c>):
/// the 16 KB sends a body is relayed in then leave the kernel as full segments, and the rest is
/// pushed when the cork is released at the body's end. On loopback, where a segment can hold
/// 64 KB and the receiver's work runs in the sender's system call, a 256 KB response went from
/// 17 segments to about 5 (docs/performance.md). HAProxy does much the same with <c>MSG_MORE</c>
/// (on every send of a response body but the last). The relays cork after their first flush, so a
/// head goes out at once: a backend must see a head with <c>Expect: 100-continue</c> before the
/// client sends the body (corked from the start, such an upload waited for the kernel's 200 ms
/// cork timer). Only bodies whose end is known are corked: a chunked or
/// close-delimited body may be a stream whose pieces must not wait (the kernel would hold a
/// partial segment up to 200 ms). Elsewhere than Linux, and on connections without a socket
/// (in-memory pipes in tests), it does nothing.
/// </summary>
internal static class TcpCork
{
    // <netinet/tcp.h>: IPPROTO_TCP 6, TCP_CORK 3.
    private const int IpProtoTcp = 6;
    private const int Cork = 3;

    private static readonly byte[] On = BitConverter.GetBytes(1);
    private static readonly byte[] Off = BitConverter.GetBytes(0);

    /// <summary>Holds partial segments on <paramref name="socket"/> until <see cref="Release"/>.</summary>
    public static void Hold(Socket? socket) => Set(socket, On);

    /// <summary>Sends what is held and stops holding.</summary>
    public static void Release(Socket? socket) => Set(socket, Off);

    private static void Set(Socket? socket, byte[] value)
    {
        if (socket is null || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            socket.SetRawSocketOption(IpProtoTcp, Cork, value);
        }
        catch (SocketException)
        {
            // The connection was reset or closed under the relay: nothing is left to hold or
            // push, and the relay's own read or write reports the fault.
        }
        catch (ObjectDisposedException)
        {
            // The transport disposes a socket whose peer went away while the relay still runs.
        }
    }
}
