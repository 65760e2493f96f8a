using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using PipeBalancer.Backends;
using PipeBalancer.Http1;
using PipeBalancer.RateLimiting;
using PipeBalancer.Routing;
using PipeBalancer.Runtime;
using PipeBalancer.Tracing;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The request loop of one client connection of an HTTP listener: read a request head, admit
/// it (body limits), route it on its own key, run the exchange with a backend (walking on to
/// the next one after a failure, within the retry limits), answer what the exchange could not,
/// and loop for the next request (keep-alive, pipelining) until either side closes.
/// The steps live in their own types (<see cref="HttpExchange"/>, <see cref="BackendAttempt"/>,
/// <see cref="RequestBodyPump"/>, <see cref="HeadRewriter"/>); everything per request is
/// reused from one request to the next, so the steady state allocates nothing.
/// </summary>
internal sealed class HttpProxySession : ITimeoutWatched, IDisposable
{
    private readonly ConnectionContext _connection;
    private readonly ProxyState _state;
    private readonly RequestStatePool _pool;
    private readonly string _listener;
    private readonly PipeReader _clientIn;
    private readonly PipeWriter _clientOut;
    private readonly ClientSendTimeout _send;
    private readonly bool _https;

    // What a request in progress needs, rented from the listener's pool when its first byte
    // arrives and returned when the connection waits for the next one: an idle connection
    // holds none of it.
    private RequestState? _work;

    // Trace context and request id; created when either is first on for this connection.
    private RequestTracing? _tracing;

    // The status the client got for the request in progress (0: none), for its span.
    private int _answered;
    private HeadScanner _scanner;

    // The client's address as a routing key (4 or 16 bytes) and as text (X-Forwarded-For, the
    // access log), in one array.
    private readonly byte[] _clientIp;
    private readonly int _clientIpKeyLength;
    private readonly int _clientIpTextLength;

    // The head deadline (Environment.TickCount64 milliseconds), checked by the heartbeat.
    private long _clientDeadline = long.MaxValue;
    private volatile bool _clientTimedOut;

    // Shutdown or a listener removed by a reload: Kestrel asks the connection to close. An idle
    // connection closes at once; a request in progress finishes with Connection: close.
    private readonly CancellationTokenRegistration _closeRegistration;
    private volatile bool _closeRequested;
    private volatile bool _waitingForRequest;

    // For the access log (unused when it is off): when the current request's head was complete,
    // and its method and target, copied because a body's upload moves the pipe past the head.
    private long _requestStart;
    private int _accessMethodLength;
    private int _accessTargetLength;

    public HttpProxySession(ConnectionContext connection, ProxyState state, string listener = "")
    {
        _connection = connection;
        _state = state;
        _pool = state.RequestStates;
        _listener = listener;
        _clientIn = connection.Transport.Input;
        _send = new ClientSendTimeout(connection);
        _clientOut = _send;

        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        // Room for the key and for the longest IPv6 text with a scope id.
        _clientIp = new byte[KeyExtractor.MaxClientIpKeyLength + 64];
        _clientIpKeyLength = KeyExtractor.WriteClientIp(address, _clientIp);
        address.TryFormat(_clientIp.AsSpan(KeyExtractor.MaxClientIpKeyLength), out _clientIpTextLength);
        _https = connection.Features.Get<ITlsHandshakeFeature>() is not null;
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        if (lifetime is not null)
        {
            _closeRegistration = lifetime.ConnectionClosedRequested.Register(static s => ((HttpProxySession)s!).OnCloseRequested(), this);
        }
    }

    private RequestState Work => _work!;

    private ReadOnlySpan<byte> ClientIpKey => _clientIp.AsSpan(0, _clientIpKeyLength);

    private ReadOnlySpan<byte> ClientIpText => _clientIp.AsSpan(KeyExtractor.MaxClientIpKeyLength, _clientIpTextLength);

    private static long Now => Environment.TickCount64;

    public long OnTick(long now)
    {
        long pending = Volatile.Read(ref _clientDeadline);
        if (now >= pending)
        {
            Volatile.Write(ref _clientDeadline, long.MaxValue);
            _clientTimedOut = true;
            _clientIn.CancelPendingRead();
            pending = long.MaxValue;
        }

        if (Volatile.Read(ref _work) is { } work)
        {
            pending = Math.Min(pending, work.Exchange.OnTick(now));
        }

        if (_send.OnTick(now))
        {
            Log.ClientSendTimedOut(_state.Logger, _connection.ConnectionId, _send.TimeoutMs);
        }

        return Math.Min(pending, _send.Deadline);
    }

    /// <summary>Serves requests until the connection closes.</summary>
    public async Task RunAsync()
    {
        while (true)
        {
            // 1. The request head. An idle connection waits keepAliveMs for its next request;
            // once a byte of it has arrived, the whole head must follow within headersMs (slowloris).
            var timeouts = _state.Current.Config.Timeouts;
            _send.TimeoutMs = timeouts.ClientSendMs;
            Volatile.Write(ref _clientDeadline, Now + timeouts.KeepAliveMs);
            _waitingForRequest = true;
            _accessMethodLength = 0;
            ReturnWork();
            if (_closeRequested)
            {
                return;
            }

            bool started = false;
            _scanner.Reset();
            ReadOnlySequence<byte> buffer;
            int consumed;
            while (true)
            {
                var result = await _clientIn.ReadAsync().ConfigureAwait(false);
                buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _clientIn.AdvanceTo(buffer.Start, buffer.End);
                    if (_closeRequested && !started)
                    {
                        return;
                    }

                    if (_clientTimedOut)
                    {
                        if (started)
                        {
                            await RejectAsync(RejectReason.HeadersTimeout).ConfigureAwait(false);
                        }

                        return;
                    }

                    // A cancel meant for a body pump that had just ended: read on.
                    continue;
                }

                if (!started && !buffer.IsEmpty)
                {
                    started = true;
                    _waitingForRequest = false;
                    RentWork();
                    Volatile.Write(ref _clientDeadline, Now + timeouts.HeadersMs);
                }

                var status = ParseStatus.Incomplete;
                var reason = RejectReason.None;
                consumed = 0;
                var limits = _state.Current.Config.Limits;
                if (!buffer.IsEmpty && _scanner.ShouldParse(buffer, limits.MaxRequestLineBytes + 2, limits.MaxHeadBytes))
                {
                    status = RequestHeadParser.TryParse(RequestView(buffer), Work.Request, limits, out consumed, out reason);
                }

                if (status == ParseStatus.Complete)
                {
                    break;
                }

                if (status == ParseStatus.Error || result.IsCompleted)
                {
                    _clientIn.AdvanceTo(buffer.End);
                    if (status == ParseStatus.Error)
                    {
                        await RejectAsync(reason).ConfigureAwait(false);
                    }
                    else if (!buffer.IsEmpty)
                    {
                        Log.IncompleteHead(_state.Logger, _connection.ConnectionId);
                    }

                    return;
                }

                _clientIn.AdvanceTo(buffer.Start, buffer.End);
            }

            Volatile.Write(ref _clientDeadline, long.MaxValue);
            if (_state.AccessLog is not null)
            {
                KeepForAccessLog();
            }

            // 2. Admission. The snapshot read above may be older than this request (the
            // connection sat idle through a change): the request routes on the configuration in force now.
            var snapshot = _state.Current;
            var config = snapshot.Config;
            var bodyStart = buffer.GetPosition(consumed);
            int retryAfter = Work.RateLimits.Check(snapshot, Work.Request, ClientIpKey);
            if (retryAfter > 0)
            {
                if (!await AnswerRateLimitedAsync(buffer, bodyStart, retryAfter).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            var early = CheckBodyBeforeForwarding(buffer.Slice(bodyStart), config.Limits);
            if (early != RejectReason.None)
            {
                _clientIn.AdvanceTo(buffer.End);
                await RejectAsync(early).ConfigureAwait(false);
                return;
            }

            // 3. Route and exchange, walking on after a failure while a resend is safe.
            Work.Exchange.HoldHead(bodyStart);
            Work.Exchange.Replay.Clear();
            var router = snapshot.Backends.Router;
            uint keyHash = router.HashKey(RoutingKey(config.Routing.Key));
            Work.Attempt.Begin(snapshot, keyHash);
            BeginTracing(config, keyHash);
            _state.RetryBudget.Request();
            var outcome = ExchangeOutcome.BackendFailed;
            bool replaying = false;
            int retries = 0;
            var connection = await Work.Attempt.NextAsync(pooled: true).ConfigureAwait(false);
            while (connection is not null)
            {
                outcome = await ExchangeAsync(connection, config, buffer.Slice(bodyStart), replaying).ConfigureAwait(false);
                if (outcome == ExchangeOutcome.StaleConnection)
                {
                    // Nothing reached the client and the backend saw nothing it could act on.
                    connection = await Work.Attempt.ConnectAsync().ConfigureAwait(false) ?? await Work.Attempt.NextAsync(pooled: true).ConfigureAwait(false);
                    continue;
                }

                // Sent, but no response byte reached the client: a request that is safe to
                // repeat (idempotent, and without a body or with one small enough to have been
                // kept whole) goes to the next server, within the retry limit and the budget.
                if (outcome is ExchangeOutcome.BackendFailed or ExchangeOutcome.BadResponse or ExchangeOutcome.TimedOut &&
                    Work.Request.IsIdempotent && (!Work.Request.HasBody || Work.Exchange.Replay.Ready || replaying) &&
                    retries < config.Retries.Max && _state.RetryBudget.TryRetry())
                {
                    retries++;
                    _state.Counters.Retry();
                    if (Work.Request.HasBody && !replaying)
                    {
                        // The client's pipe has moved on: the head is parsed again from the copy.
                        RequestHeadParser.TryParse(Work.Exchange.Replay.Head, Work.Request, config.Limits, out _, out _);
                        replaying = true;
                    }

                    connection = await Work.Attempt.NextAsync(pooled: true).ConfigureAwait(false);
                    if (connection is null)
                    {
                        break;
                    }

                    continue;
                }

                break;
            }

            // 4. The end of the exchange: loop, or answer and close.
            _answered = 0;
            bool more = await FinishAsync(outcome, connection is null).ConfigureAwait(false);
            Work.Rewriter.Tracing?.End(_answered, outcome);
            if (!more)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _closeRegistration.Dispose();
        _tracing?.End(_answered, ExchangeOutcome.Abort);
        if (_work is { } work)
        {
            _work = null;
            if (work.Exchange.Quiet)
            {
                work.Unbind();
                _pool.Return(work);
            }
            else
            {
                // A body pump left running (a fault or an abort) may still touch it.
                _pool.Drop();
            }
        }
    }

    // The first byte of a request: its state from the pool, bound to this connection.
    private void RentWork()
    {
        var work = _pool.Rent();
        work.Bind(_listener, _send, _connection.Features.Get<IConnectionSocketFeature>()?.Socket, _clientIp.AsMemory(KeyExtractor.MaxClientIpKeyLength, _clientIpTextLength), _https, _connection.RemoteEndPoint, _connection.LocalEndPoint);
        Volatile.Write(ref _work, work);
        work.Exchange.CloseRequested = _closeRequested;
    }

    // Waiting for the next request: the last one's state goes back to the pool.
    private void ReturnWork()
    {
        if (_work is { } work)
        {
            Volatile.Write(ref _work, null);
            work.Unbind();
            _pool.Return(work);
        }
    }

    private void OnCloseRequested()
    {
        _closeRequested = true;
        if (Volatile.Read(ref _work) is { } work)
        {
            work.Exchange.CloseRequested = true;
        }

        if (_waitingForRequest)
        {
            _clientIn.CancelPendingRead();
        }
    }

    // One exchange on one connection, with the backend's in-flight count and byte counters
    // around it; the connection goes back to the pool when it can carry another request.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<ExchangeOutcome> ExchangeAsync(BackendConnection connection, Configuration.BalancerConfig config, ReadOnlySequence<byte> buffered, bool replaying)
    {
        var backend = Work.Attempt.Backend!;
        Work.Rewriter.Tracing?.OnExchange(backend);
        backend.Begin();
        _state.Counters.Request();
        bool keep = false;
        try
        {
            var outcome = await Work.Exchange.RunAsync(connection, Work.Attempt, config, buffered, replaying).ConfigureAwait(false);
            // A client that closes after this request (Connection: close) leaves the backend
            // connection as fit as a keep-alive one: it goes back to the pool, so a new client
            // connection per request does not cost a new backend connection too.
            keep = Work.Exchange.KeepBackend && outcome is ExchangeOutcome.KeepAlive or ExchangeOutcome.Close;
            return outcome;
        }
        finally
        {
            backend.End();
            connection.Account(backend.Stats);
            if (keep && !backend.Draining)
            {
                backend.Pool.Return(connection);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    // False when the connection is to close.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> FinishAsync(ExchangeOutcome outcome, bool walkEnded)
    {
        if (walkEnded && outcome is not (ExchangeOutcome.ClientRejected or ExchangeOutcome.ClientGone or ExchangeOutcome.Abort))
        {
            // No server left: with nothing eligible, 503; after a failure, what that failure
            // was (502, or 504 for a timeout), naming the backend that failed.
            int status = Work.Attempt.FailureStatus != 0 ? Work.Attempt.FailureStatus : 503;
            WriteAccessLog(status, Work.Attempt.FailedBackend);
            Work.Exchange.ReleaseHead();
            await SendAsync(status).ConfigureAwait(false);
            return false;
        }

        switch (outcome)
        {
            case ExchangeOutcome.KeepAlive:
                WriteAccessLog(Work.Exchange.Status, Work.Attempt.Backend);
                Work.Exchange.ReleaseHead();
                return true;
            case ExchangeOutcome.Close:
                WriteAccessLog(Work.Exchange.Status, Work.Attempt.Backend);
                Work.Exchange.ReleaseHead();
                if (Work.Exchange.BodyUnread)
                {
                    await LingerAsync(Work.Exchange.DiscardEnd).ConfigureAwait(false);
                }

                await _clientOut.CompleteAsync().ConfigureAwait(false);
                return false;
            case ExchangeOutcome.ClientRejected:
                await RejectAsync(Work.Exchange.ClientError).ConfigureAwait(false);
                WriteAccessLog(Rejections.StatusCode(Work.Exchange.ClientError), Work.Attempt.Backend);
                return false;
            case ExchangeOutcome.ClientGone:
                return false;
            case ExchangeOutcome.Abort:
                WriteAccessLog(Work.Exchange.Status, Work.Attempt.Backend);
                Work.Exchange.ReleaseHead();
                _connection.Abort(new ConnectionAbortedException("the backend failed after the response had started"));
                return false;
            default:
                WriteAccessLog(Work.Attempt.FailureStatus, Work.Attempt.FailedBackend);
                Work.Exchange.ReleaseHead();
                await SendAsync(Work.Attempt.FailureStatus).ConfigureAwait(false);
                return false;
        }
    }

    // A lingering close (nginx's lingering_close; RFC 9112 section 9.6): the client is still
    // sending a body the balancer has stopped reading. Closing now would answer its bytes in
    // flight, or those still unread, with a reset, which can destroy the response before the
    // client has read it. So its bytes are read and thrown away until it closes its side, pauses
    // for DiscardLimits.LingerIdleMs (timeouts.clientBodyMs if shorter), or the window after the
    // response ends (at least one pause from now), or DiscardLimits.MaxBytes have come; then the
    // connection closes. The response has been flushed; the connection's close sends the FIN
    // (Kestrel's socket transport cannot end only its sending side, and a shutdown of the socket
    // under it could cut a response still queued in its pipe).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask LingerAsync(long windowEnd)
    {
        long idleMs = Math.Min(DiscardLimits.LingerIdleMs, _state.Current.Config.Timeouts.ClientBodyMs);
        long end = Math.Max(windowEnd, Now + idleMs);
        long discarded = 0;
        _clientTimedOut = false;
        Volatile.Write(ref _clientDeadline, Math.Min(Now + idleMs, end));

        // The pause may be shorter than every timeout the heartbeat plans its walks by.
        _state.Heartbeat.WalkSoon();
        Log.LingeringClose(_state.Logger, _connection.ConnectionId);
        try
        {
            while (true)
            {
                var result = await _clientIn.ReadAsync().ConfigureAwait(false);
                discarded += result.Buffer.Length;
                _clientIn.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || _clientTimedOut || discarded > DiscardLimits.MaxBytes)
                {
                    return;
                }

                // Each deadline is later than the last, so the heartbeat's next walk already
                // comes by the time it is due.
                Volatile.Write(ref _clientDeadline, Math.Min(Now + idleMs, end));
            }
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // The client reset or went away: nothing is left in flight.
        }
        finally
        {
            Volatile.Write(ref _clientDeadline, long.MaxValue);
        }
    }

    private ReadOnlyMemory<byte> RequestView(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.First;
        }

        return HeadParser.Contiguous(buffer, Work.Scratch);
    }

    // A body limit known from Content-Length, or chunked framing that is already broken in the
    // bytes that came with the head, is refused before anything reaches a backend.
    private RejectReason CheckBodyBeforeForwarding(in ReadOnlySequence<byte> buffered, HttpLimits limits)
    {
        if (limits.MaxBodyBytes > 0 && Work.Request.ContentLength > limits.MaxBodyBytes)
        {
            return RejectReason.BodyTooLarge;
        }

        if (Work.Request.Chunked)
        {
            var probe = default(ChunkedReader);
            if (probe.Read(buffered, out _, out var reason) == ParseStatus.Error)
            {
                return reason;
            }

            if (limits.MaxBodyBytes > 0 && probe.DataBytes > limits.MaxBodyBytes)
            {
                return RejectReason.BodyTooLarge;
            }
        }

        return RejectReason.None;
    }

    private ReadOnlySpan<byte> RoutingKey(KeySource source) =>
        KeyExtractor.TryFromHead(Work.Request, source, out var key) ? key : ClientIpKey;

    private void KeepForAccessLog()
    {
        _requestStart = Stopwatch.GetTimestamp();
        var method = Work.Request.Raw.Span[..Work.Request.MethodLength];
        var target = Work.Request.Target;
        int length = method.Length + target.Length;
        var copy = Work.AccessRequest;
        if (copy is null || copy.Length < length)
        {
            // Once per pooled state, or when a longer request line comes along.
            copy = Work.AccessRequest = new byte[Math.Max(length, 256)];
        }

        method.CopyTo(copy);
        target.CopyTo(copy.AsSpan(method.Length));
        _accessMethodLength = method.Length;
        _accessTargetLength = target.Length;
    }

    private void WriteAccessLog(int status, Backend? backend)
    {
        _answered = status;
        if (_state.AccessLog is { } log && _accessMethodLength > 0 && Work.AccessRequest is { } request)
        {
            log.Write(ClientIpText, request.AsSpan(0, _accessMethodLength),
                request.AsSpan(_accessMethodLength, _accessTargetLength), Work.Request.IsHttp11, status, backend?.Config.Id, _requestStart,
                Work.Rewriter.Tracing is { } tracing ? tracing.RequestId : default);
        }
    }

    // 429 from the balancer; nothing reaches a backend. The connection stays open when HTTP lets
    // it (keep-alive, and no body that would have to be read and thrown away first). False when it closes.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> AnswerRateLimitedAsync(ReadOnlySequence<byte> buffer, SequencePosition bodyStart, int retryAfter)
    {
        bool keep = Work.Request.KeepAlive && !Work.Request.HasBody && !_closeRequested;
        _clientIn.AdvanceTo(keep ? bodyStart : buffer.End);
        _state.Counters.OwnResponse(429);
        Work.RateLimits.LogLimited(_state.Logger, _connection.ConnectionId, retryAfter);
        WriteAccessLog(429, null);
        TooManyRequests.Write(_clientOut, retryAfter, close: !keep);
        var flushed = await _clientOut.FlushAsync().ConfigureAwait(false);
        if (!keep || flushed.IsCompleted)
        {
            await _clientOut.CompleteAsync().ConfigureAwait(false);
            return false;
        }

        return true;
    }

    // The trace context step, when tracing or request ids are on for this request (off, the
    // head rewriter leaves those fields alone and nothing here allocates).
    private void BeginTracing(Configuration.BalancerConfig config, uint keyHash)
    {
        if (!config.Tracing.Enabled && !config.RequestId.Enabled)
        {
            Work.Rewriter.Tracing = null;
            return;
        }

        _tracing ??= new RequestTracing(_state.TraceExport.Logger, _connection.ConnectionId, _https);
        _tracing.Begin(Work.Request, config, keyHash);
        Work.Rewriter.Tracing = _tracing;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RejectAsync(RejectReason reason)
    {
        _state.Counters.Rejection(reason);
        Log.Rejected(_state.Logger, _connection.ConnectionId, reason);
        _clientOut.Write(Rejections.Response(reason));
        await _clientOut.FlushAsync().ConfigureAwait(false);
        await _clientOut.CompleteAsync().ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(int status)
    {
        _state.Counters.BackendError(status);
        _clientOut.Write(ProxyErrors.For(status));
        await _clientOut.FlushAsync().ConfigureAwait(false);
        await _clientOut.CompleteAsync().ConfigureAwait(false);
    }
}
