using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Backends;
using PipeBalancer.Routing;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The Kestrel connection handler of a <c>tcp</c> listener: routes the connection on the
/// client's IP address, connects to that backend (walking on clockwise when a connect fails),
/// and splices bytes both ways until both sides have closed, passing each half-close on.
/// </summary>
public sealed class TcpProxyHandler(ProxyState state) : ConnectionHandler
{
    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var snapshot = state.Current;
        var backends = snapshot.Backends;
        var router = backends.Router;
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        var key = new byte[KeyExtractor.MaxClientIpKeyLength];
        int keyLength = KeyExtractor.WriteClientIp(address, key);
        var seen = new ulong[router.SeenLength];
        var walk = router.Begin(router.HashKey(key.AsSpan(0, keyLength)), backends, seen);

        BackendConnection? upstream = null;
        Backend? backend = null;
        int server;
        while (upstream is null && (server = router.Next(ref walk, seen, backends)) >= 0)
        {
            backend = backends[server];
            try
            {
                upstream = await BackendConnection.ConnectAsync(backend.EndPoint, snapshot.Config.Timeouts.ConnectMs, state.BackendPipeOptions, state.BackendPipeOptions,
                    backend.Stats)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                backend.RecordFailure(BackendErrorKind.Connect);
                Log.ConnectFailed(state.Logger, backend.Config.Id, backend.Config.Address.Text, e.Message);
            }
        }

        if (upstream is null)
        {
            // No backend reachable: close without a byte, as a TCP proxy can say nothing else.
            state.Counters.NoBackendForConnection();
            return;
        }

        backend!.Begin();
        state.Counters.Request();
        state.Counters.Opened();
        try
        {
            var up = Splice.CopyAsync(connection.Transport.Input, upstream.Output);
            var down = Splice.CopyAsync(upstream.Input, connection.Transport.Output);
            if (connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is not null &&
                await Task.WhenAny(up, down).ConfigureAwait(false) == down)
            {
                // TLS cannot pass a half-close on (the stream has no "end of my side"): once the
                // backend is done, the client connection ends, with its close_notify.
                connection.Transport.Input.CancelPendingRead();
            }

            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception e) when (BackendConnection.IsConnectionFailure(e))
        {
            // A reset on either side, or the connection aborted at the end of a shutdown: the
            // tunnel is over, and there is no one to tell.
        }
        finally
        {
            state.Counters.Closed();
            backend.End();
            upstream.Account(backend.Stats);
            upstream.Dispose();
        }
    }
}
