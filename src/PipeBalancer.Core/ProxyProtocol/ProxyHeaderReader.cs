using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using PipeBalancer.Forwarding;
using PipeBalancer.Http1;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// Reads the PROXY header a trusted source must send before anything else, within a deadline
/// the heartbeat checks (a header that arrives slowly is held to <c>timeouts.headersMs</c>, as
/// a request head is). On success the pipe is advanced past the header and no further: what
/// follows (a request, a TLS handshake, TCP payload) is left for the next reader.
/// </summary>
internal sealed class ProxyHeaderReader(PipeReader input, ProxyVersions accept) : ITimeoutWatched
{
    private long _deadline = long.MaxValue;
    private volatile bool _timedOut;

    /// <summary>The header, once <see cref="ReadAsync"/> returned <see cref="ProxyHeaderError.None"/>.</summary>
    public ProxyHeader Header { get; private set; }

    /// <summary>Whether the connection closed before sending a byte (a TCP connect check): nothing to count.</summary>
    public bool ClosedEmpty { get; private set; }

    public long OnTick(long now)
    {
        long deadline = Volatile.Read(ref _deadline);
        if (now >= deadline)
        {
            Volatile.Write(ref _deadline, long.MaxValue);
            _timedOut = true;
            input.CancelPendingRead();
            return long.MaxValue;
        }

        return deadline;
    }

    /// <summary>Reads until the header is complete, broken, cut short, or <paramref name="deadline"/> (Environment.TickCount64) passes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ProxyHeaderError> ReadAsync(long deadline)
    {
        Volatile.Write(ref _deadline, deadline);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (_timedOut)
                    {
                        return ProxyHeaderError.Timeout;
                    }

                    continue;
                }

                var status = ProxyHeaderParser.TryParse(buffer, accept, out var header, out int consumed, out var error);
                if (status == ParseStatus.Complete)
                {
                    input.AdvanceTo(buffer.GetPosition(consumed));
                    Header = header;
                    return ProxyHeaderError.None;
                }

                if (status == ParseStatus.Error)
                {
                    input.AdvanceTo(buffer.End);
                    return error;
                }

                if (result.IsCompleted)
                {
                    input.AdvanceTo(buffer.End);
                    ClosedEmpty = buffer.IsEmpty;
                    return ProxyHeaderError.Truncated;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            Volatile.Write(ref _deadline, long.MaxValue);
        }
    }
}
