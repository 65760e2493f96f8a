using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using PipeBalancer.Backends;
using PipeBalancer.Routing;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The Kestrel connection handler of a <c>tcp</c> listener: routes the connection on the
/// client's IP address, admits and connects through the same <see cref="BackendAttempt"/> as
/// HTTP requests (a half-open circuit lets one trial connection through; a connect counts as
/// the backend's success, a failed one as its failure, and the walk goes on clockwise), and
/// splices bytes both ways until both sides have closed, passing each half-close on.
/// </summary>
internal sealed class TcpProxyHandler(ProxyState state, Configuration.ListenerConfig? listener = null) : ConnectionHandler
{
    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var snapshot = state.Current;
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        var key = new byte[KeyExtractor.MaxClientIpKeyLength];
        int keyLength = KeyExtractor.WriteClientIp(address, key);
        var limits = new RateLimiting.RateLimitStep(listener?.Name ?? "");
        if (!limits.AdmitConnection(snapshot, key.AsSpan(0, keyLength), out int retryAfter))
        {
            // Over a rate limit: closed at accept, before any backend is chosen.
            limits.LogLimited(state.Logger, connection.ConnectionId, retryAfter);
            return;
        }

        var attempt = new BackendAttempt(state) { Client = connection.RemoteEndPoint, ClientDestination = connection.LocalEndPoint };
        attempt.Begin(snapshot, snapshot.Backends.Router.HashKey(key.AsSpan(0, keyLength)));
        var upstream = await attempt.NextAsync(pooled: false).ConfigureAwait(false);
        if (upstream is null)
        {
            // No backend reachable: close without a byte, as a TCP proxy can say nothing else.
            state.Counters.NoBackendForConnection();
            return;
        }

        var backend = attempt.Backend!;
        attempt.Succeeded();
        backend.Begin();
        state.Counters.Request();
        state.Counters.Opened();
        try
        {
            if (connection.Features.Get<ClientSocketConnection>() is { IsBare: true } client && upstream.UnstartedSocket is { } socket)
            {
                await RelaySocketsAsync(connection, client.Socket, socket, backend.Stats, snapshot.Config.Timeouts.ClientSendMs).ConfigureAwait(false);
            }
            else
            {
                await SplicePipesAsync(connection, upstream).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!NetworkFault.Is(e))
        {
            // Network faults end the splice quietly inside it; anything else is the balancer's own.
            Log.OwnFault(state.Logger, connection.ConnectionId, e);
            connection.Abort(new ConnectionAbortedException("fault in the balancer", e));
        }
        finally
        {
            state.Counters.Closed();
            backend.End();
            upstream.Account(backend.Stats);
            upstream.Dispose();
        }
    }

    // Both sockets bare: socket to socket, no pipes (SocketRelay); the bytes are counted here.
    private async Task RelaySocketsAsync(ConnectionContext connection, Socket client, Socket backend, BackendStats stats, int clientSendMs)
    {
        var relay = new SocketRelay(connection, client, backend, clientSendMs);
        state.Heartbeat.Add(relay);
        try
        {
            await relay.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            state.Heartbeat.Remove(relay);
            stats.Transferred(relay.ToBackend, relay.FromBackend);
            if (relay.SendTimedOut)
            {
                Log.ClientSendTimedOut(state.Logger, connection.ConnectionId, clientSendMs);
            }
        }
    }

    // Pipes on either side (TLS, a PROXY header read, in-memory connections in tests): splice them.
    private static async Task SplicePipesAsync(ConnectionContext connection, BackendConnection upstream)
    {
        var up = Splice.CopyAsync(connection.Transport.Input, upstream.Output);
        var down = Splice.CopyAsync(upstream.Input, connection.Transport.Output);
        if (connection.Features.Get<ITlsHandshakeFeature>() is not null &&
            await Task.WhenAny(up, down).ConfigureAwait(false) == down)
        {
            // TLS cannot pass a half-close on (the stream has no "end of my side"): once the
            // backend is done, the client connection ends, with its close_notify.
            connection.Transport.Input.CancelPendingRead();
        }

        await Task.WhenAll(up, down).ConfigureAwait(false);
    }
}
