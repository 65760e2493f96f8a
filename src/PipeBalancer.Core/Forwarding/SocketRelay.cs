using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;

namespace PipeBalancer.Forwarding;

/// <summary>
/// A TCP listener's connection relayed socket to socket, without pipes: one loop per direction
/// receives into a pooled 16 KB buffer and sends it on, so a chunk costs one receive and one
/// send and nothing in between. An idle direction holds no buffer: it waits with a zero-byte
/// receive (as Kestrel's socket transport does) and rents one when bytes arrive. A direction
/// whose source ends passes the end on (half-close: shutdown of the other socket's sending
/// side) while the other direction goes on; a reset or an abort on either side shuts both
/// sockets down, which ends the other direction too. Sends to the client are watched by the
/// heartbeat (<see cref="OnTick"/>): one that waits longer than <c>timeouts.clientSendMs</c>
/// aborts the client connection. One instance per connection.
/// </summary>
internal sealed class SocketRelay(ConnectionContext connection, Socket client, Socket backend, int clientSendTimeoutMs) : ITimeoutWatched
{
    /// <summary>Receive buffer of one busy direction: the balancer's block size.</summary>
    internal const int BufferSize = 16 * 1024;

    private long _sendDeadline = long.MaxValue;
    private volatile bool _sendTimedOut;

    /// <summary>Bytes relayed from the client to the backend.</summary>
    public long ToBackend { get; private set; }

    /// <summary>Bytes relayed from the backend to the client.</summary>
    public long FromBackend { get; private set; }

    /// <summary>Whether a send to the client waited past <c>timeouts.clientSendMs</c> (the client connection was aborted).</summary>
    public bool SendTimedOut => _sendTimedOut;

    /// <summary>Relays both ways until both directions have ended.</summary>
    public async Task RunAsync()
    {
        var up = PumpAsync(client, backend, toClient: false);
        var down = PumpAsync(backend, client, toClient: true);
        try
        {
            ToBackend = await up.ConfigureAwait(false);
        }
        finally
        {
            FromBackend = await down.ConfigureAwait(false);
        }
    }

    /// <summary>Aborts the client connection when a send to it has waited past its deadline.</summary>
    /// <returns>True when it fired on this tick.</returns>
    public bool Check(long now)
    {
        if (now < Volatile.Read(ref _sendDeadline))
        {
            return false;
        }

        Volatile.Write(ref _sendDeadline, long.MaxValue);
        _sendTimedOut = true;
        connection.Abort(new ConnectionAbortedException("the client read nothing for timeouts.clientSendMs"));
        return true;
    }

    /// <inheritdoc />
    public long OnTick(long now) => Check(now) ? long.MaxValue : Volatile.Read(ref _sendDeadline);

    // One direction: returns the bytes it moved.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> PumpAsync(Socket from, Socket to, bool toClient)
    {
        byte[]? buffer = null;
        long moved = 0;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    // Idle: wait for bytes (or the end) without holding a buffer.
                    await from.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                }

                int read = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var send = to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                if (!send.IsCompleted)
                {
                    await WaitForSendAsync(send, toClient).ConfigureAwait(false);
                }
                else
                {
                    send.GetAwaiter().GetResult();
                }

                moved += read;
                if (read < buffer.Length)
                {
                    // Drained: the buffer goes back while the direction waits again. (Keeping it
                    // measured no faster: the zero-byte receive costs no extra system call.)
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
        }
        catch (Exception e) when (NetworkFault.Is(e) || e is ObjectDisposedException)
        {
            // A reset on either side, or the connection aborted (its socket closed under the
            // receive or send): the whole relay ends, the other direction's wait included.
            Shutdown(from, SocketShutdown.Both);
            Shutdown(to, SocketShutdown.Both);
            return moved;
        }
        catch
        {
            // The balancer's own fault: both directions stop, so the caller hears of it.
            Shutdown(from, SocketShutdown.Both);
            Shutdown(to, SocketShutdown.Both);
            throw;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        // The source ended: pass its end on; the other direction goes on.
        Shutdown(to, SocketShutdown.Send);
        return moved;
    }

    // The peer is not keeping up: the send waits, toward the client under its deadline.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitForSendAsync(ValueTask<int> send, bool toClient)
    {
        if (!toClient)
        {
            await send.ConfigureAwait(false);
            return;
        }

        Volatile.Write(ref _sendDeadline, Environment.TickCount64 + clientSendTimeoutMs);
        try
        {
            await send.ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _sendDeadline, long.MaxValue);
        }
    }

    private static void Shutdown(Socket socket, SocketShutdown how)
    {
        try
        {
            socket.Shutdown(how);
        }
        catch (SocketException)
        {
            // Not connected any more (the peer reset it): nothing left to pass on.
        }
        catch (ObjectDisposedException)
        {
            // Closed by an abort.
        }
    }
}
