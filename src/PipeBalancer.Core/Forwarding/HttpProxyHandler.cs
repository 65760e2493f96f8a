using Microsoft.AspNetCore.Connections;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>The Kestrel connection handler of an <c>http</c> listener: one <see cref="HttpProxySession"/> per client connection.</summary>
internal sealed class HttpProxyHandler(ProxyState state, Configuration.ListenerConfig? listener = null) : ConnectionHandler
{
    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var session = new HttpProxySession(connection, state, listener?.Name ?? "");
        state.Heartbeat.Add(session);
        state.Counters.Opened();
        try
        {
            // Kestrel's per-connection logging scope is not carried into the session: log
            // lines name the connection themselves.
            await WithoutContext.Start(static session => session.RunAsync(), session).ConfigureAwait(false);
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // The client went away (reset, abort): nothing is left to tell it.
        }
        catch (Exception e)
        {
            // Not a network event: a fault of the balancer's own, logged once with its stack.
            Log.OwnFault(state.Logger, connection.ConnectionId, e);
            connection.Abort(new ConnectionAbortedException("fault in the balancer", e));
        }
        finally
        {
            state.Counters.Closed();
            state.Heartbeat.Remove(session);
        }
    }
}
