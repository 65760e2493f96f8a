using System.Net.Sockets;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// How an HTTP health check connects to a backend that is sent PROXY headers: it must start
/// with one too, or the backend refuses it. The check is the balancer's own, not a client's, so
/// it says so: v2 <c>LOCAL</c>, or v1 <c>UNKNOWN</c> (the backend keeps the connection's own
/// addresses), as HAProxy's <c>check-send-proxy</c> does.
/// </summary>
internal static class HealthCheckConnector
{
    /// <summary>The header a check request's connection starts with (absent: none).</summary>
    public static readonly HttpRequestOptionsKey<ProxySend> Send = new("PipeBalancer.ProxySend");

    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/>: connects, then writes the request's header if it has one.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            if (context.InitialRequestMessage.Options.TryGetValue(Send, out var send) && send is ProxySend.V1 or ProxySend.V2)
            {
                var header = new byte[ProxyHeaderWriter.MaxLength];
                int length = ProxyHeaderWriter.Write(header, send, null, null);
                await socket.SendAsync(header.AsMemory(0, length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
