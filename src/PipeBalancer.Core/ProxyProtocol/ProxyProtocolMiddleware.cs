using System.Net;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// The Kestrel connection middleware of a listener that takes PROXY headers, run before TLS
/// and before the HTTP or TCP handler. A connection from a trusted network must start with a
/// header of an accepted version; the addresses it carries become the connection's
/// <see cref="BaseConnectionContext.RemoteEndPoint"/> (the client) and
/// <see cref="BaseConnectionContext.LocalEndPoint"/> (where the client connected), which is where
/// everything after it reads the client address: X-Forwarded-For, the <c>client-ip</c> key,
/// TCP routing, the access log, an outbound PROXY header. A connection from anywhere else is
/// served as it is, through a <see cref="ProxyHeaderGuard"/> that closes it if it sends a
/// header. A missing, malformed, cut-short or late header closes the connection, counted by
/// reason, before a byte reaches a backend.
/// </summary>
internal sealed class ProxyProtocolMiddleware(ConnectionDelegate next, ProxyVersions accept, IPNetwork[] trusted, ProxyState state)
{
    /// <summary>Runs for each connection of the listener.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote || !TrustedNetworks.Contains(trusted, remote.Address))
        {
            connection.Transport = new GuardedTransport(connection.Transport, new ProxyHeaderGuard(connection.Transport.Input, connection, state));
            await next(connection).ConfigureAwait(false);
            return;
        }

        var reader = new ProxyHeaderReader(connection.Transport.Input, accept);
        ProxyHeaderError error;
        state.Heartbeat.Add(reader);
        try
        {
            error = await reader.ReadAsync(Environment.TickCount64 + state.Current.Config.Timeouts.HeadersMs).ConfigureAwait(false);
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // The source went away (reset) inside the header: nothing is left to close.
            state.Counters.ProxyHeaderRefused(ProxyHeaderError.Truncated);
            return;
        }
        catch (Exception e)
        {
            ProxyProtocolLog.OwnFault(state.Logger, connection.ConnectionId, e);
            connection.Abort(new ConnectionAbortedException("fault in the balancer", e));
            return;
        }
        finally
        {
            state.Heartbeat.Remove(reader);
        }

        if (reader.ClosedEmpty)
        {
            // Connected and closed without a byte: a TCP connect check, not a broken header.
            return;
        }

        if (error != ProxyHeaderError.None)
        {
            state.Counters.ProxyHeaderRefused(error);
            ProxyProtocolLog.Refused(state.Logger, connection.ConnectionId, remote, error);
            connection.Abort(new ConnectionAbortedException("PROXY header refused"));
            return;
        }

        state.Counters.ProxyHeaderAccepted();
        var header = reader.Header;
        if (header.HasAddresses)
        {
            connection.RemoteEndPoint = header.SourceEndPoint();
            connection.LocalEndPoint = header.DestinationEndPoint();
            ProxyProtocolLog.Accepted(state.Logger, connection.ConnectionId, remote, header.Version, connection.RemoteEndPoint);
        }

        await next(connection).ConfigureAwait(false);
    }
}
