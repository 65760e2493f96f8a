using Microsoft.AspNetCore.Connections;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// The client pipes of a plain <c>http</c> listener (no TLS, no PROXY header to read), whose
/// connections are bare accepted sockets (<see cref="ClientSocketConnection"/>): pipes straight
/// on the socket (<see cref="SocketClientPipes"/>). Kestrel's own socket connection runs the
/// same receive and send loops, but ends by queueing its close notification to the thread pool
/// and waiting for it; here the connection ends when the handler's last bytes have been sent.
/// </summary>
internal sealed class SocketPipes(ConnectionDelegate next, ProxyState state)
{
    /// <summary>Runs the rest of the connection's pipeline over pipes on the socket.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var client = connection.Features.Get<ClientSocketConnection>()
            ?? throw new InvalidOperationException("pipes on the socket need the listener's bare accepted sockets");

        // The pipes do not own the socket: the connection closes it when Kestrel disposes it.
        var pipes = new SocketClientPipes(client.Socket, state.BackendPipeOptions);
        connection.Transport = pipes;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            await CompleteAsync(client, pipes).ConfigureAwait(false);
        }
    }

    // The handler is done: the output's last bytes go out and the pipes' blocks go back to the
    // pool. A client that is gone by then, or a connection aborted, is no fault of anyone's.
    private static async ValueTask CompleteAsync(ClientSocketConnection client, SocketClientPipes pipes)
    {
        try
        {
            await pipes.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (NetworkFault.Is(e) || (e is ObjectDisposedException && client.IsClosed))
        {
        }
    }
}
