using System.IO.Pipelines;
using System.Net.Sockets;

namespace PipeBalancer.Hosting;

/// <summary>
/// The pipes of a plain client connection over its bare accepted socket: one receive loop
/// fills the input, one send loop drains the output, both started here and run by the socket
/// engine's own completions (inline), so no thread-pool work item is queued for them, and none
/// to tell anyone the connection closed. Kestrel's socket connection does the same work but
/// ends by queueing its close notification to the thread pool and waiting for it.
/// The receive loop waits for bytes with a zero-byte receive, so an idle connection holds no
/// pool block; it skips that wait only after a receive that filled its block, when more is
/// most likely already there (an idle connection whose last bytes exactly filled a block is
/// the one case that waits holding one). <see cref="CompleteAsync"/> returns once the output's last byte has been sent, the
/// socket shut down (a FIN) and the receive loop ended.
/// </summary>
internal sealed class SocketClientPipes : IDuplexPipe
{
    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly Task _receiving;
    private readonly Task<bool> _sending;

    /// <summary>Starts both loops on <paramref name="socket"/>; <paramref name="options"/> serve both pipes (inline schedulers).</summary>
    public SocketClientPipes(Socket socket, PipeOptions options)
    {
        _socket = socket;
        _input = new Pipe(options);
        _output = new Pipe(options);
        _receiving = ReceiveAsync();
        _sending = SendAsync();
    }

    /// <inheritdoc />
    public PipeReader Input => _input.Reader;

    /// <inheritdoc />
    public PipeWriter Output => _output.Writer;

    /// <summary>
    /// Ends both pipes once the handler is done with them: what the output still holds is sent
    /// first, then both sides of the socket are shut down (the client gets a FIN) and the
    /// receive loop is waited for. The socket stays open for its owner to close.
    /// </summary>
    public async ValueTask CompleteAsync()
    {
        bool sent = false;
        try
        {
            await _output.Writer.CompleteAsync().ConfigureAwait(false);
            sent = await _sending.ConfigureAwait(false) && TryShutdown();
        }
        finally
        {
            await _input.Reader.CompleteAsync().ConfigureAwait(false);
        }

        // As Kestrel's socket connection does: the shutdown ends the pending receive on the
        // socket engine's thread. Closing the socket with it still pending would cancel it
        // through the thread pool, and close with a reset.
        if (sent)
        {
            await _receiving.ConfigureAwait(false);
        }
    }

    private bool TryShutdown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset or aborted meanwhile: nothing is left to end gracefully.
            return false;
        }
    }

    // Socket to input, until the client ends its side, the reader is done or the socket fails;
    // a failure reaches the reader (a reset is a network fault to it, as from Kestrel).
    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            bool filled = false;
            while (true)
            {
                // No block is taken until bytes are there to read, unless the last receive
                // filled its block: more is then most likely waiting (a body in full flight),
                // and the wait would be one system call more per block that finds it at once.
                if (!filled)
                {
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                }

                var memory = writer.GetMemory();
                int read = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled = read == memory.Length;

                writer.Advance(read);
                var flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = e is SocketException { SocketErrorCode: SocketError.OperationAborted } or ObjectDisposedException ? null : e;
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    // Output to socket, until the handler completes the output (everything it wrote is sent
    // first: true) or the socket fails (false); a failure reaches the writer's next flush.
    private async Task<bool> SendAsync()
    {
        var reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var rest = segment;
                    while (!rest.IsEmpty)
                    {
                        rest = rest[await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false)..];
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = e;
        }

        await reader.CompleteAsync(error).ConfigureAwait(false);
        return error is null;
    }
}
