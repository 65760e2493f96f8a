using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// The TLS of a listener whose connections are bare accepted sockets
/// (<see cref="ClientSocketConnection"/>): the handshake runs on an <see cref="SslStream"/> straight
/// over the socket, with the listener's certificate and options (<see cref="CertificateSource"/>),
/// within the handshake timeout; the handler then gets pipes over that stream
/// (<see cref="TlsClientPipes"/>). Kestrel's own HTTPS middleware puts the stream over a stream
/// over the socket transport's pipes, which costs another copy and another pipe each way. A
/// handshake that fails or times out closes the connection (events 1111 and 1112, debug).
/// </summary>
internal sealed class TlsTermination(ConnectionDelegate next, CertificateSource certificate, bool http, TimeSpan handshakeTimeout, ProxyState state)
{
    /// <summary>Runs the handshake, then the rest of the connection's pipeline over TLS.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var client = connection.Features.Get<ClientSocketConnection>()
            ?? throw new InvalidOperationException("TLS on the socket needs the listener's bare accepted sockets");

        // The stream does not own the socket: the connection closes it when Kestrel disposes it.
        var stream = new SslStream(new NetworkStream(client.Socket, ownsSocket: false), leaveInnerStreamOpen: false);
        try
        {
            if (!await HandshakeAsync(connection, client, stream).ConfigureAwait(false))
            {
                return;
            }

            var pipes = new TlsClientPipes(stream, state.BackendPipeOptions.Pool);
            connection.Features.Set<ITlsHandshakeFeature>(pipes);
            connection.Transport = pipes;
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                await CompleteAsync(client, stream, pipes).ConfigureAwait(false);
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> HandshakeAsync(ConnectionContext connection, ClientSocketConnection client, SslStream stream)
    {
        using var timeout = new CancellationTokenSource(handshakeTimeout);
        try
        {
            await stream.AuthenticateAsServerAsync(certificate.Options(http), timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            if (state.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.TlsHandshakeTimedOut(state.Logger, connection.ConnectionId, (int)handshakeTimeout.TotalMilliseconds);
            }

            return false;
        }
        catch (Exception e) when (e is AuthenticationException || NetworkFault.Is(e) || (e is ObjectDisposedException && client.IsClosed))
        {
            // Not TLS, a protocol or cipher the listener does not take, a client that hung up
            // or reset, or a connection aborted (a stop) while it shook hands.
            if (state.Logger.IsEnabled(LogLevel.Debug))
            {
                Log.TlsHandshakeFailed(state.Logger, connection.ConnectionId, e.Message);
            }

            return false;
        }
    }

    // The handler is done: the output's last bytes go out, then TLS's close_notify unless the
    // connection was aborted (so a client can tell the end of the stream from a cut), and the
    // pipes' blocks go back to the pool. A client that is gone by then is no fault of anyone's.
    private static async ValueTask CompleteAsync(ClientSocketConnection client, SslStream stream, TlsClientPipes pipes)
    {
        try
        {
            await pipes.CompleteAsync().ConfigureAwait(false);
            if (!client.IsClosed)
            {
                await stream.ShutdownAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (NetworkFault.Is(e) || (e is ObjectDisposedException && client.IsClosed))
        {
        }
    }
}
