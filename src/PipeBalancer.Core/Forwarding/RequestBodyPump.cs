using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using PipeBalancer.Backends;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Streams a request body from the client to the backend by its framing, while the exchange
/// waits for the response. From <see cref="Start"/> until its task is awaited, the pump is the
/// only reader of the client pipe: the exchange hands the pipe over by starting it and takes it
/// back by awaiting it (after <see cref="Stop"/> when it cannot wait for the body's end, or
/// <see cref="Finish"/> when the response is complete before the body). When the backend stops
/// taking bytes, or the exchange says it will take no more, the rest of the body is still read
/// by its framing and thrown away (up to <see cref="DiscardLimits.MaxBytes"/>), so that the
/// client connection stays in step for its next request. When the body cannot end (the client
/// went away, or broke the framing), the pump wakes the exchange by cancelling its pending read
/// of the backend. One instance per <see cref="RequestState"/>.
/// </summary>
internal sealed class RequestBodyPump(ClientBodyTimeout timeout)
{
    private PipeReader _client = null!;
    private volatile bool _stopping;
    private volatile bool _discarding;

    /// <summary>Sets the client pipe the pump reads (when its exchange is bound to a connection).</summary>
    public void Bind(PipeReader? client) => _client = client!;

    /// <summary>Why the last body was refused (with <see cref="PumpResult.BadBody"/>).</summary>
    public RejectReason Error { get; private set; }

    /// <summary>Whether the last pump has ended (its task may still be awaited).</summary>
    public bool Ended { get; private set; } = true;

    /// <summary>
    /// Starts sending the body of <paramref name="request"/>: first what of it arrived with the
    /// head (<paramref name="buffered"/>, still unconsumed in the client pipe), then what follows.
    /// </summary>
    public ValueTask<PumpResult> Start(RequestHead request, in ReadOnlySequence<byte> buffered, BackendConnection backend, long maxBodyBytes, ReplayBuffer replay)
    {
        Error = RejectReason.None;
        Ended = false;
        _stopping = false;
        _discarding = false;
        if (request.Chunked)
        {
            return PumpAsync(new ChunkedBody(), buffered, backend, maxBodyBytes, replay, cork: null);
        }

        // A Content-Length body that takes more reads than the first goes out in full segments
        // (see TcpCork): corked after the first flush, so the head reaches the backend at once
        // (it may have to answer 100 Continue before the rest comes), released when the pump ends.
        var cork = buffered.Length < request.ContentLength ? backend.Socket : null;
        return PumpAsync(new ContentLengthBody(request.ContentLength), buffered, backend, maxBodyBytes, replay, cork);
    }

    /// <summary>Makes a running pump end soon (as <see cref="PumpResult.ClientGone"/> unless it has ended).</summary>
    public void Stop(BackendConnection backend)
    {
        if (!Ended)
        {
            _stopping = true;
            _client.CancelPendingRead();
            backend.Output.CancelPendingFlush();
        }
    }

    /// <summary>
    /// The response is complete and the body has not ended: the rest goes on to the backend while
    /// <paramref name="forward"/> (its connection can still carry the body and another request),
    /// or is read and thrown away; either way it must end by <paramref name="end"/>
    /// (Environment.TickCount64 milliseconds).
    /// </summary>
    public void Finish(BackendConnection backend, bool forward, long end)
    {
        timeout.Limit(end, backend.Output);
        if (!forward)
        {
            // Set before the cancel, so that the flush it ends sees why.
            _discarding = true;
            backend.Output.CancelPendingFlush();
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<PumpResult> PumpAsync<TBody>(TBody body, ReadOnlySequence<byte> buffer, BackendConnection backend, long maxBodyBytes, ReplayBuffer replay,
        System.Net.Sockets.Socket? cork)
        where TBody : struct, IBodyFraming
    {
        var result = PumpResult.ClientGone;
        bool reading = false;
        bool corked = false;
        bool discarding = false;
        long discarded = 0;
        try
        {
            bool clientDone = false;
            while (true)
            {
                var status = body.Take(buffer, out long take, out var reason);
                if (status == ParseStatus.Error || (maxBodyBytes > 0 && body.DataBytes > maxBodyBytes))
                {
                    Error = status == ParseStatus.Error ? reason : RejectReason.BodyTooLarge;
                    _client.AdvanceTo(buffer.End);
                    result = PumpResult.BadBody;
                    return result;
                }

                var data = buffer.Slice(0, take);
                discarding |= _discarding;
                if (discarding)
                {
                    // Nobody takes the rest: it is read by its framing and thrown away.
                    _client.AdvanceTo(data.End);
                    discarded += take;
                    if (status == ParseStatus.Complete)
                    {
                        result = PumpResult.Discarded;
                        return result;
                    }

                    if (timeout.Fired)
                    {
                        // The body did not end in the time left after the response.
                        Error = RejectReason.BodyTimeout;
                        result = PumpResult.BadBody;
                        return result;
                    }

                    if (discarded > DiscardLimits.MaxBytes)
                    {
                        // Too much to throw away for the sake of the connection.
                        result = PumpResult.BackendGone;
                        return result;
                    }
                }
                else
                {
                    // Nothing is written once the backend's socket has closed since the last
                    // flush (its transport completes the writer then): the rest is thrown away.
                    bool taken = Write(backend, data);
                    if (taken)
                    {
                        replay.Append(data);
                    }

                    _client.AdvanceTo(data.End);
                    try
                    {
                        var flush = taken ? await backend.Output.FlushAsync().ConfigureAwait(false) : default;
                        taken &= !flush.IsCompleted;
                        if (flush.IsCanceled)
                        {
                            if (_stopping)
                            {
                                return result;
                            }

                            if (timeout.Fired)
                            {
                                // The body did not end in the time left after the response.
                                Error = RejectReason.BodyTimeout;
                                result = PumpResult.BadBody;
                                return result;
                            }

                            // The exchange takes no more for the backend (or a stray cancel: the bytes are committed either way).
                            taken &= !_discarding;
                        }
                    }
                    catch (Exception e) when (NetworkFault.Is(e))
                    {
                        taken = false;
                    }

                    if (!taken)
                    {
                        // The backend stopped taking bytes (it closed, reset, or answered and the
                        // exchange will not wait for it): the rest of the body is thrown away.
                        discarding = true;
                        if (status == ParseStatus.Complete)
                        {
                            result = PumpResult.Discarded;
                            return result;
                        }
                    }
                    else if (status == ParseStatus.Complete)
                    {
                        replay.Complete();
                        result = PumpResult.Sent;
                        return result;
                    }
                }

                if (clientDone)
                {
                    return result;
                }

                if (cork is not null && !corked && !discarding)
                {
                    TcpCork.Hold(cork);
                    corked = true;
                }

                ReadResult read;
                while (true)
                {
                    reading = true;
                    timeout.Arm();
                    read = await _client.ReadAsync().ConfigureAwait(false);
                    timeout.Disarm();
                    reading = false;
                    if (!read.IsCanceled)
                    {
                        break;
                    }

                    _client.AdvanceTo(read.Buffer.Start);
                    if (timeout.Fired)
                    {
                        // The client stalled: its fault (408), never the backend's.
                        Error = RejectReason.BodyTimeout;
                        result = PumpResult.BadBody;
                        return result;
                    }

                    if (_stopping)
                    {
                        return result;
                    }

                    // A stray cancel (one meant for a read that had just returned): read on.
                }

                buffer = read.Buffer;
                clientDone = read.IsCompleted;
            }
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            result = reading ? PumpResult.ClientGone : PumpResult.BackendGone;
            return result;
        }
        finally
        {
            if (corked)
            {
                TcpCork.Release(cork);
            }

            timeout.Disarm();
            timeout.ClearLimit();
            Ended = true;
            if (result is PumpResult.ClientGone or PumpResult.BadBody)
            {
                // No response can follow a body that never ends: wake the exchange.
                backend.Input.CancelPendingRead();
            }
        }
    }

    // Writes body bytes for the backend, unless its socket has begun to shut down (then false):
    // its transport completes the writer when a send fails, and a write after that throws. A
    // send that fails between the check and the write (its completion may run on another socket
    // thread) is caught by the filter: the transport records the shutdown before it completes
    // the writer.
    private static bool Write(BackendConnection backend, in ReadOnlySequence<byte> data)
    {
        if (backend.SendClosed)
        {
            return false;
        }

        try
        {
            BodyRelay.Write(backend.Output, data);
            return true;
        }
        catch (InvalidOperationException) when (backend.SendClosed)
        {
            // Closed between the check and the write.
            return false;
        }
    }
}
