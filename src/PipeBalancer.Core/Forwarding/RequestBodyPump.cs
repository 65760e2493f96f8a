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
/// back by awaiting it (after <see cref="Stop"/> when it cannot wait for the body's end). When the
/// body cannot end (the client went away, or broke the framing), the pump wakes the exchange by
/// cancelling its pending read of the backend. One instance per <see cref="RequestState"/>.
/// </summary>
internal sealed class RequestBodyPump(ClientBodyTimeout timeout)
{
    private PipeReader _client = null!;

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
            _client.CancelPendingRead();
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
                BodyRelay.Write(backend.Output, data);
                replay.Append(data);
                _client.AdvanceTo(data.End);
                var flush = await backend.Output.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    result = PumpResult.BackendGone;
                    return result;
                }

                if (flush.IsCanceled || (clientDone && status != ParseStatus.Complete))
                {
                    return result;
                }

                if (status == ParseStatus.Complete)
                {
                    replay.Complete();
                    result = PumpResult.Sent;
                    return result;
                }

                if (cork is not null && !corked)
                {
                    TcpCork.Hold(cork);
                    corked = true;
                }

                reading = true;
                timeout.Arm();
                var read = await _client.ReadAsync().ConfigureAwait(false);
                timeout.Disarm();
                reading = false;
                buffer = read.Buffer;
                if (read.IsCanceled)
                {
                    _client.AdvanceTo(buffer.Start);
                    if (timeout.Fired)
                    {
                        // The client stalled: its fault (408), never the backend's.
                        Error = RejectReason.BodyTimeout;
                        result = PumpResult.BadBody;
                    }

                    return result;
                }

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
            Ended = true;
            if (result is PumpResult.ClientGone or PumpResult.BadBody)
            {
                // No response can follow a body that never ends: wake the exchange.
                backend.Input.CancelPendingRead();
            }
        }
    }
}
