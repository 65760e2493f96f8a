using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The longest a write to the client may wait for the client to read
/// (<c>timeouts.clientSendMs</c>, nginx's <c>send_timeout</c>): the client connection's pipes,
/// with every flush of its output watched. A flush that completes at once (the usual case)
/// costs nothing more; one that waits for the client arms a deadline the heartbeat checks
/// through <see cref="OnTick"/>. When it passes, the pending flush ends as if the client had
/// gone (<see cref="FlushResult.IsCompleted"/>) and the connection is aborted, so whatever was
/// relaying (a response body, a tunnel) stops, and the backend connection is closed (not
/// pooled, not charged). One instance per client connection.
/// </summary>
internal sealed class ClientSendTimeout : PipeWriter, IDuplexPipe
{
    private readonly ConnectionContext _connection;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private long _deadline = long.MaxValue;
    private volatile bool _fired;

    public ClientSendTimeout(ConnectionContext connection)
    {
        _connection = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
    }

    /// <summary>The timeout for the next flushes, in milliseconds (set per request, as the configuration may change).</summary>
    public int TimeoutMs { get; set; } = 60_000;

    /// <summary>Whether the timeout fired (the connection was aborted).</summary>
    public bool Fired => _fired;

    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => this;

    /// <inheritdoc />
    public override bool CanGetUnflushedBytes => _output.CanGetUnflushedBytes;

    /// <inheritdoc />
    public override long UnflushedBytes => _output.UnflushedBytes;

    /// <summary>The deadline of the flush that waits (Environment.TickCount64), or long.MaxValue.</summary>
    public long Deadline => Volatile.Read(ref _deadline);

    /// <summary>Fires the timeout when a flush has waited past its deadline.</summary>
    /// <returns>True when it fired on this tick.</returns>
    public bool OnTick(long now)
    {
        if (now < Volatile.Read(ref _deadline))
        {
            return false;
        }

        Volatile.Write(ref _deadline, long.MaxValue);
        _fired = true;
        _output.CancelPendingFlush();
        _connection.Abort(new ConnectionAbortedException("the client read nothing for timeouts.clientSendMs"));
        return true;
    }

    /// <inheritdoc />
    public override void Advance(int bytes) => _output.Advance(bytes);

    /// <inheritdoc />
    public override Memory<byte> GetMemory(int sizeHint = 0) => _output.GetMemory(sizeHint);

    /// <inheritdoc />
    public override Span<byte> GetSpan(int sizeHint = 0) => _output.GetSpan(sizeHint);

    /// <inheritdoc />
    public override void CancelPendingFlush() => _output.CancelPendingFlush();

    /// <inheritdoc />
    public override void Complete(Exception? exception = null) => _output.Complete(exception);

    /// <inheritdoc />
    public override ValueTask CompleteAsync(Exception? exception = null) => _output.CompleteAsync(exception);

    /// <inheritdoc />
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_fired)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        var flush = _output.FlushAsync(cancellationToken);
        return flush.IsCompleted ? flush : WaitAsync(flush);
    }

    // The client is not keeping up: the flush waits under the deadline.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<FlushResult> WaitAsync(ValueTask<FlushResult> flush)
    {
        Volatile.Write(ref _deadline, Environment.TickCount64 + TimeoutMs);
        try
        {
            var result = await flush.ConfigureAwait(false);
            return _fired ? new FlushResult(isCanceled: false, isCompleted: true) : result;
        }
        finally
        {
            Volatile.Write(ref _deadline, long.MaxValue);
        }
    }
}
