using Microsoft.AspNetCore.Connections;

namespace PipeBalancer.Forwarding;

/// <summary>The Kestrel connection handler of an <c>http</c> listener: one <see cref="HttpProxySession"/> per client connection.</summary>
public sealed class HttpProxyHandler(ProxyState state) : ConnectionHandler
{
    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        using var session = new HttpProxySession(connection, state);
        state.Heartbeat.Add(session);
        state.Counters.Opened();
        try
        {
            // The session runs without the connection's execution context (Kestrel's logging
            // scope, an async local): resuming its state machine then does not restore a
            // context, and the backend sockets' loops started from it capture none. Log
            // lines name the connection themselves.
            Task run;
            if (ExecutionContext.IsFlowSuppressed())
            {
                run = session.RunAsync();
            }
            else
            {
                using (ExecutionContext.SuppressFlow())
                {
                    run = session.RunAsync();
                }
            }

            await run.ConfigureAwait(false);
        }
        catch (Exception e) when (Backends.BackendConnection.IsConnectionFailure(e))
        {
            // The client went away (reset, abort): nothing is left to tell it.
        }
        finally
        {
            state.Counters.Closed();
            state.Heartbeat.Remove(session);
        }
    }
}
