using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using PipeBalancer.Backends;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// One exchange of a parsed request with one backend connection, as named steps: send the head
/// (and the body: pumped from the client as it arrives, or replayed from a copy), read the
/// response head (relaying 1xx), then either relay the response by its framing or, after 101,
/// hand both connections to the tunnel. It ends in one <see cref="ExchangeOutcome"/>; the
/// backend's part in it is recorded through the <see cref="BackendAttempt"/>. The response
/// head timeout is watched by the heartbeat through <see cref="OnTick"/>. One instance per
/// <see cref="RequestState"/>, bound to the connection that rents it and reused for every
/// request: nothing is allocated per request.
/// </summary>
internal sealed class HttpExchange : IDisposable
{
    private IDuplexPipe _client = null!;
    private System.Net.Sockets.Socket? _clientSocket;
    private readonly RequestHead _request;
    private readonly ResponseHead _response;
    private readonly HeadRewriter _rewriter;
    private readonly RequestBodyPump _pump;
    private readonly ClientBodyTimeout _bodyTimeout;

    // A response head split across pipe segments is copied here; rented on first need.
    private byte[]? _responseScratch;
    private HeadScanner _scanner;

    // The response head deadline (Environment.TickCount64 milliseconds), checked by the heartbeat.
    private long _deadline = long.MaxValue;
    private BackendConnection? _watched;
    private volatile bool _timedOut;

    // Whether the request head is still unconsumed in the client pipe, up to _bodyStart: it is
    // kept until the exchange ends, so that a request without a body can be sent again.
    private bool _headHeld;
    private bool _closeRequested;
    private SequencePosition _bodyStart;

    public HttpExchange(RequestHead request, ResponseHead response, HeadRewriter rewriter)
    {
        _request = request;
        _response = response;
        _rewriter = rewriter;
        _bodyTimeout = new ClientBodyTimeout();
        _pump = new RequestBodyPump(_bodyTimeout);
    }

    /// <summary>
    /// Binds the exchange to the client connection whose requests it runs next (null: to none,
    /// while it waits in a pool, forgetting the last response).
    /// </summary>
    /// <param name="client">The client connection's pipes, or null.</param>
    /// <param name="clientSocket">The client's socket under the pipes, if any (for <see cref="TcpCork"/>).</param>
    public void Bind(IDuplexPipe? client, System.Net.Sockets.Socket? clientSocket = null)
    {
        _client = client!;
        _clientSocket = clientSocket;
        _bodyTimeout.Bind(client?.Input);
        _pump.Bind(client?.Input);
        if (client is null)
        {
            _response.Reset();
        }
    }

    /// <summary>
    /// Set when the client connection must close after the response in flight (shutdown, or
    /// its listener removed), whatever the request asked for.
    /// </summary>
    public bool CloseRequested
    {
        get => Volatile.Read(ref _closeRequested);
        set => Volatile.Write(ref _closeRequested, value);
    }

    /// <summary>The copy of the current request kept for a resend.</summary>
    public ReplayBuffer Replay { get; } = new();

    /// <summary>The status the client got from the backend (0 until it got one).</summary>
    public int Status { get; private set; }

    /// <summary>Whether the backend connection may carry another request.</summary>
    public bool KeepBackend { get; private set; }

    /// <summary>
    /// Whether the client was still sending a body the balancer stopped reading (it did not end
    /// within <see cref="DiscardLimits"/> after the response): its connection closes with a
    /// lingering close (with <see cref="ExchangeOutcome.Close"/>).
    /// </summary>
    public bool BodyUnread { get; private set; }

    /// <summary>When the time for the rest of the body after the response, and any lingering close, ends (Environment.TickCount64 milliseconds).</summary>
    public long DiscardEnd { get; private set; }

    /// <summary>Whether no body pump of this exchange is still running (one is left running only when the exchange ended in a fault or an abort).</summary>
    public bool Quiet => _pump.Ended;

    /// <summary>Why the client's body was refused (with <see cref="ExchangeOutcome.ClientRejected"/>).</summary>
    public RejectReason ClientError => _pump.Error;

    /// <summary>Holds the request head in the client pipe (it ends at <paramref name="bodyStart"/>) until the exchange is over.</summary>
    public void HoldHead(SequencePosition bodyStart)
    {
        _headHeld = true;
        _bodyStart = bodyStart;
    }

    /// <summary>Consumes the request head from the client pipe, if it is still held.</summary>
    public void ReleaseHead()
    {
        if (_headHeld)
        {
            _headHeld = false;
            _client.Input.AdvanceTo(_bodyStart);
        }
    }

    /// <summary>Fires the response head and body timeouts when their deadlines have passed; returns the earliest still pending.</summary>
    public long OnTick(long now)
    {
        long pending = _bodyTimeout.OnTick(now);
        var watched = _watched;
        long deadline = Volatile.Read(ref _deadline);
        if (watched is not null && now >= deadline)
        {
            Volatile.Write(ref _deadline, long.MaxValue);
            _timedOut = true;
            watched.CancelRead();
            return pending;
        }

        return Math.Min(pending, deadline);
    }

    /// <summary>
    /// Runs the exchange on <paramref name="backend"/>. <paramref name="buffered"/> is what arrived
    /// after the head in the client pipe (the body's start); <paramref name="replaying"/> says the
    /// request comes from <see cref="Replay"/> instead.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<ExchangeOutcome> RunAsync(BackendConnection backend, BackendAttempt attempt, Configuration.BalancerConfig config,
        ReadOnlySequence<byte> buffered, bool replaying)
    {
        Status = 0;
        KeepBackend = false;
        BodyUnread = false;
        bool pumping = false;
        bool responseStarted = false;
        ValueTask<PumpResult> pump = default;
        try
        {
            // 1. The request: head, then body.
            long sentAt = Stopwatch.GetTimestamp();
            _rewriter.WriteRequest(backend.Output, _request, config.ForwardedHeaders);
            if (_request.HasBody && !replaying)
            {
                // The pump consumes the head with the body's first bytes: copy it for a resend first.
                Replay.Begin(_request, config.Retries.MaxBufferedBodyBytes);
                _headHeld = false;
                _bodyTimeout.Begin(config.Timeouts.ClientBodyMs, _request.Expect100Continue && buffered.IsEmpty);
                pump = _pump.Start(_request, buffered, backend, config.Limits.MaxBodyBytes, Replay);
                pumping = true;
            }
            else
            {
                if (replaying)
                {
                    backend.Output.Write(Replay.Body);
                }

                if ((await backend.Output.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    return Failed(attempt, backend.Reused, replaying, ExchangeOutcome.BackendFailed);
                }
            }

            // 2. The response head, after any 1xx.
            Watch(backend, config.Timeouts.ResponseHeadMs);
            _scanner.Reset();
            bool informational = false;
            ReadOnlySequence<byte> response;
            int headLength;
            while (true)
            {
                var result = await backend.Input.ReadAsync().ConfigureAwait(false);
                response = result.Buffer;
                if (result.IsCanceled)
                {
                    backend.Input.AdvanceTo(response.Start, response.End);
                    if (_timedOut)
                    {
                        if (pumping && _bodyTimeout.Expire())
                        {
                            // The backend is waiting for a body the client stopped sending: the
                            // client's fault. The pump ends with the body timeout and wakes this read.
                            _timedOut = false;
                            continue;
                        }

                        return await FailBeforeResponseAsync(attempt, backend, pumping, pump, ExchangeOutcome.TimedOut).ConfigureAwait(false);
                    }

                    if (pumping && _pump.Ended)
                    {
                        // The pump woke us: the body cannot end, so no response can come.
                        pumping = false;
                        var ended = await pump.ConfigureAwait(false);
                        return ended == PumpResult.BadBody ? ExchangeOutcome.ClientRejected : ExchangeOutcome.ClientGone;
                    }

                    continue;
                }

                if (_scanner.ShouldParse(response, ResponseHeadParser.MaxHeadBytes, ResponseHeadParser.MaxHeadBytes))
                {
                    var view = Contiguous(response, ref _responseScratch);
                    var status = ResponseHeadParser.TryParse(view, _response, _response.MaxFields, out headLength);
                    if (status == ParseStatus.Complete)
                    {
                        if (_response.Status is >= 100 and < 200 and not 101)
                        {
                            informational = true;
                            if (!await RelayInformationalAsync(backend, response.GetPosition(headLength)).ConfigureAwait(false))
                            {
                                return ExchangeOutcome.Abort;
                            }

                            continue;
                        }

                        break;
                    }

                    // A head too large is refused as soon as it is (never left to the timeout).
                    if (status == ParseStatus.Error || response.Length >= ResponseHeadParser.MaxHeadBytes)
                    {
                        backend.Input.AdvanceTo(response.End);
                        return await FailBeforeResponseAsync(attempt, backend, pumping, pump, ExchangeOutcome.BadResponse).ConfigureAwait(false);
                    }
                }

                if (result.IsCompleted)
                {
                    backend.Input.AdvanceTo(response.End);
                    if (response.IsEmpty && !informational && backend.Reused && !pumping && _request.IsIdempotent)
                    {
                        // The backend closed a pooled connection just as it was reused.
                        return ExchangeOutcome.StaleConnection;
                    }

                    return await FailBeforeResponseAsync(attempt, backend, pumping, pump, ExchangeOutcome.BackendFailed).ConfigureAwait(false);
                }

                backend.Input.AdvanceTo(response.Start, response.End);
            }

            Unwatch();
            Status = _response.Status;
            attempt.Answered(Status, sentAt, config.Circuit.Count5xx);
            var afterHead = response.GetPosition(headLength);

            // 3. After 101, the tunnel.
            if (Status == 101)
            {
                if (!_request.IsUpgrade)
                {
                    // A 101 the client did not ask for cannot be relayed.
                    backend.Input.AdvanceTo(afterHead);
                    Status = 0;
                    return await FailBeforeResponseAsync(attempt, backend, pumping, pump, ExchangeOutcome.BadResponse).ConfigureAwait(false);
                }

                responseStarted = true;
                var outcome = await TunnelAsync(backend, afterHead, pumping, pump).ConfigureAwait(false);
                pumping = false;
                return outcome;
            }

            // 4. The response: head, then body by its framing. A client that still waits for
            // the backend's 100 before it sends its body gets no body read after this response
            // (it may send the body, or close): it is told the connection closes.
            var framing = ResponseHeadParser.Framing(_response, _request.Method);
            bool bodyUnsent = pumping && !_pump.Ended && _bodyTimeout.AwaitingContinue;
            bool clientKeepAlive = !CloseRequested && _request.KeepAlive && framing != BodyFraming.CloseDelimited && !bodyUnsent;
            responseStarted = true;
            if (!await RelayResponseAsync(backend, response, headLength, framing, clientKeepAlive).ConfigureAwait(false))
            {
                return ExchangeOutcome.Abort;
            }

            // 5. The request body's end. A backend may answer before it has taken the whole body
            // (RFC 9110 section 15; RFC 9112 section 9.6): the rest is still read from the client
            // by its framing, so that its next request starts at the right byte and its
            // connection is not reset under the response: forwarded while the backend
            // connection can take it (and then carry another request), else thrown away, within
            // DiscardLimits. A body that does not end within them closes the client connection
            // with a lingering close; none of it is charged to the backend.
            bool reusable = _request.IsHttp11 && _response.IsHttp11 && !_response.ConnectionClose && framing != BodyFraming.CloseDelimited;
            bool uploaded = true;
            bool bodyRead = true;
            if (pumping)
            {
                pumping = false;
                DiscardEnd = Environment.TickCount64 + DiscardLimits.WindowMs;
                if (bodyUnsent)
                {
                    _pump.Stop(backend);
                }
                else if (!_pump.Ended)
                {
                    _pump.Finish(backend, reusable, DiscardEnd);
                }

                var ended = await pump.ConfigureAwait(false);
                _bodyTimeout.ClearLimit();
                uploaded = ended == PumpResult.Sent;
                bodyRead = ended is PumpResult.Sent or PumpResult.Discarded;
                // A client that went away (or half-closed) leaves nothing to linger for.
                BodyUnread = (ended is PumpResult.BackendGone or PumpResult.BadBody) && !bodyUnsent;
            }

            KeepBackend = uploaded && reusable;
            return clientKeepAlive && bodyRead ? ExchangeOutcome.KeepAlive : ExchangeOutcome.Close;
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // A reset on either side. Before the response started, the client can still be told
            // (502), or a request that was surely not acted on can be sent again; after, only
            // aborting the client connection keeps the response from looking whole.
            if (responseStarted)
            {
                return ExchangeOutcome.Abort;
            }

            bool wasPumping = pumping;
            pumping = false;
            return wasPumping
                ? await FailBeforeResponseAsync(attempt, backend, true, pump, ExchangeOutcome.BackendFailed).ConfigureAwait(false)
                : Failed(attempt, backend.Reused, replaying, ExchangeOutcome.BackendFailed);
        }
        finally
        {
            Unwatch();
            if (pumping)
            {
                // Only on a fault of the balancer's own: the pump is told to end; the connection closes.
                _pump.Stop(backend);
            }
        }
    }

    public void Dispose()
    {
        Replay.Dispose();
        if (_responseScratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_responseScratch);
            _responseScratch = null;
        }
    }

    private static ReadOnlyMemory<byte> Contiguous(in ReadOnlySequence<byte> buffer, ref byte[]? scratch)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.First;
        }

        scratch ??= ArrayPool<byte>.Shared.Rent(ResponseHeadParser.MaxHeadBytes);
        return HeadParser.Contiguous(buffer, scratch);
    }

    // A failure before the response with no body in flight: a pooled connection that a resend
    // is safe on is stale; anything else is the backend's failure.
    private ExchangeOutcome Failed(BackendAttempt attempt, bool reused, bool replaying, ExchangeOutcome outcome)
    {
        if (outcome == ExchangeOutcome.BackendFailed && reused && (!_request.HasBody || replaying) && _request.IsIdempotent)
        {
            return ExchangeOutcome.StaleConnection;
        }

        Charge(attempt, outcome);
        return outcome;
    }

    private static void Charge(BackendAttempt attempt, ExchangeOutcome outcome)
    {
        switch (outcome)
        {
            case ExchangeOutcome.TimedOut:
                attempt.Failed(BackendErrorKind.Timeout, 504);
                break;
            case ExchangeOutcome.BadResponse:
                attempt.Failed(BackendErrorKind.BadResponse, 502);
                break;
            default:
                attempt.Failed(BackendErrorKind.Reset, 502);
                break;
        }
    }

    // The backend failed before its response head while the body may still be in flight: the
    // pump is stopped and awaited first, because a body that broke the client's limits or
    // framing is why the backend gave up: the client then gets 413 or 400, and the backend is
    // not charged.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<ExchangeOutcome> FailBeforeResponseAsync(BackendAttempt attempt, BackendConnection backend, bool pumping, ValueTask<PumpResult> pump,
        ExchangeOutcome outcome)
    {
        if (pumping)
        {
            _pump.Stop(backend);
            if (await pump.ConfigureAwait(false) == PumpResult.BadBody)
            {
                return ExchangeOutcome.ClientRejected;
            }
        }

        Charge(attempt, outcome);
        return outcome;
    }

    // 1xx other than 101 goes to an HTTP/1.1 client as it is (100 Continue lets the client send
    // its body); an HTTP/1.0 client never gets one (RFC 9110 section 15.2).
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> RelayInformationalAsync(BackendConnection backend, SequencePosition afterHead)
    {
        _scanner.Reset();
        if (!_request.IsHttp11)
        {
            backend.Input.AdvanceTo(afterHead);
            return true;
        }

        _client.Output.Write(_response.Raw.Span);
        backend.Input.AdvanceTo(afterHead);
        _bodyTimeout.ContinueSent();
        return !(await _client.Output.FlushAsync().ConfigureAwait(false)).IsCompleted;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> RelayResponseAsync(BackendConnection backend, ReadOnlySequence<byte> response, int headLength, BodyFraming framing, bool clientKeepAlive)
    {
        var output = _client.Output;
        bool relayed;
        if (framing == BodyFraming.None ||
            (framing == BodyFraming.ContentLength && response.Length - headLength >= _response.ContentLength))
        {
            // The whole response is here (the usual case for a small one): head and body go
            // out in one write, and the backend pipe is advanced once.
            var body = response.Slice(headLength, framing == BodyFraming.None ? 0 : _response.ContentLength);
            HeadRewriter.WriteResponse(output, _response, _request.IsHttp11, clientKeepAlive, body);
            backend.Input.AdvanceTo(body.End);
            relayed = true;
        }
        else
        {
            HeadRewriter.WriteResponse(output, _response, _request.IsHttp11, clientKeepAlive, default);
            backend.Input.AdvanceTo(response.GetPosition(headLength));
            relayed = framing switch
            {
                // A body that takes several reads and whose end is known leaves in full segments (TcpCork).
                BodyFraming.ContentLength => await BodyRelay.CopyAsync(backend.Input, output, new ContentLengthBody(_response.ContentLength), _clientSocket).ConfigureAwait(false),
                BodyFraming.Chunked => await BodyRelay.CopyAsync(backend.Input, output, new ChunkedBody()).ConfigureAwait(false),
                _ => await BodyRelay.CopyAsync(backend.Input, output, new CloseDelimitedBody()).ConfigureAwait(false),
            };
        }

        return relayed && !(await output.FlushAsync().ConfigureAwait(false)).IsCompleted;
    }

    // The 101 goes to the client at once; a body announced with the upgrade is sent whole
    // before the tunnel takes the client pipe over (the pump owns it until then).
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<ExchangeOutcome> TunnelAsync(BackendConnection backend, SequencePosition afterHead, bool pumping, ValueTask<PumpResult> pump)
    {
        _client.Output.Write(_response.Raw.Span);
        backend.Input.AdvanceTo(afterHead);
        ReleaseHead();
        bool flushed = !(await _client.Output.FlushAsync().ConfigureAwait(false)).IsCompleted;
        if (pumping && await pump.ConfigureAwait(false) != PumpResult.Sent)
        {
            return ExchangeOutcome.Abort;
        }

        if (!flushed)
        {
            return ExchangeOutcome.Abort;
        }

        await Tunnel.RunAsync(_client, backend).ConfigureAwait(false);
        return ExchangeOutcome.Close;
    }

    private void Watch(BackendConnection backend, int timeoutMs)
    {
        _timedOut = false;
        Volatile.Write(ref _deadline, Environment.TickCount64 + timeoutMs);
        _watched = backend;
    }

    private void Unwatch()
    {
        _watched = null;
        Volatile.Write(ref _deadline, long.MaxValue);
    }
}
