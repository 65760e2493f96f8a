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
    /// <summary>Most fields accepted in a backend's response head.</summary>
    private const int MaxResponseFields = 256;

    private readonly ConnectionContext _connection;
    private readonly ProxyState _state;
    private readonly PipeReader _clientIn;
    private readonly PipeWriter _clientOut;
    private readonly ClientSendTimeout _send;
    private readonly RequestHead _request;
    private readonly HttpExchange _exchange;
    private readonly BackendAttempt _attempt;
    private readonly HeadRewriter _rewriter;
    private readonly bool _https;

    // Trace context and request id; created when either is first on for this connection.
    private RequestTracing? _tracing;

    // The status the client got for the request in progress (0: none), for its span.
    private int _answered;
    private readonly int _requestScratchSize;
    private readonly RateLimitStep _rateLimits;

    // A head that arrives split across pipe segments is copied here; rented on first need,
    // since most heads fit in one segment and an idle connection should cost little memory.
    private byte[]? _requestScratch;
    private HeadScanner _scanner;
    private readonly byte[] _clientIpKey = new byte[KeyExtractor.MaxClientIpKeyLength];
    private readonly byte[] _clientIpText = new byte[64];
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
    private byte[]? _accessRequest;
    private int _accessMethodLength;
    private int _accessTargetLength;

    public HttpProxySession(ConnectionContext connection, ProxyState state, string listener = "")
    {
        _rateLimits = new RateLimitStep(listener);
        _connection = connection;
        _state = state;
        _clientIn = connection.Transport.Input;
        _send = new ClientSendTimeout(connection);
        _clientOut = _send;
        var limits = state.Current.Config.Limits;
        _request = new RequestHead(limits.MaxHeaderCount);
        _requestScratchSize = limits.MaxHeadBytes;

        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        _clientIpKeyLength = KeyExtractor.WriteClientIp(address, _clientIpKey);
        address.TryFormat(_clientIpText, out _clientIpTextLength);
        _https = connection.Features.Get<ITlsHandshakeFeature>() is not null;
        _rewriter = new HeadRewriter(_clientIpText.AsMemory(0, _clientIpTextLength), _https);
        _exchange = new HttpExchange(_send, _request, new ResponseHead(MaxResponseFields), _rewriter);
        _attempt = new BackendAttempt(state) { Client = connection.RemoteEndPoint, ClientDestination = connection.LocalEndPoint };
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        if (lifetime is not null)
        {
            _closeRegistration = lifetime.ConnectionClosedRequested.Register(static s => ((HttpProxySession)s!).OnCloseRequested(), this);
        }
    }

    private static long Now => Environment.TickCount64;

    public void OnTick(long now)
    {
        if (now >= Volatile.Read(ref _clientDeadline))
        {
            Volatile.Write(ref _clientDeadline, long.MaxValue);
            _clientTimedOut = true;
            _clientIn.CancelPendingRead();
        }

        _exchange.OnTick(now);
        if (_send.OnTick(now))
        {
            Log.ClientSendTimedOut(_state.Logger, _connection.ConnectionId, _send.TimeoutMs);
        }
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
                    Volatile.Write(ref _clientDeadline, Now + timeouts.HeadersMs);
                }

                var status = ParseStatus.Incomplete;
                var reason = RejectReason.None;
                consumed = 0;
                var limits = _state.Current.Config.Limits;
                if (!buffer.IsEmpty && _scanner.ShouldParse(buffer, limits.MaxRequestLineBytes + 2, limits.MaxHeadBytes))
                {
                    status = RequestHeadParser.TryParse(RequestView(buffer), _request, limits, out consumed, out reason);
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
            int retryAfter = _rateLimits.Check(snapshot, _request, _clientIpKey.AsSpan(0, _clientIpKeyLength));
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
            _exchange.HoldHead(bodyStart);
            _exchange.Replay.Clear();
            var router = snapshot.Backends.Router;
            uint keyHash = router.HashKey(RoutingKey(config.Routing.Key));
            _attempt.Begin(snapshot, keyHash);
            BeginTracing(config, keyHash);
            _state.RetryBudget.Request();
            var outcome = ExchangeOutcome.BackendFailed;
            bool replaying = false;
            int retries = 0;
            var connection = await _attempt.NextAsync(pooled: true).ConfigureAwait(false);
            while (connection is not null)
            {
                outcome = await ExchangeAsync(connection, config, buffer.Slice(bodyStart), replaying).ConfigureAwait(false);
                if (outcome == ExchangeOutcome.StaleConnection)
                {
                    // Nothing reached the client and the backend saw nothing it could act on.
                    connection = await _attempt.ConnectAsync().ConfigureAwait(false) ?? await _attempt.NextAsync(pooled: true).ConfigureAwait(false);
                    continue;
                }

                // Sent, but no response byte reached the client: a request that is safe to
                // repeat (idempotent, and without a body or with one small enough to have been
                // kept whole) goes to the next server, within the retry limit and the budget.
                if (outcome is ExchangeOutcome.BackendFailed or ExchangeOutcome.BadResponse or ExchangeOutcome.TimedOut &&
                    _request.IsIdempotent && (!_request.HasBody || _exchange.Replay.Ready || replaying) &&
                    retries < config.Retries.Max && _state.RetryBudget.TryRetry())
                {
                    retries++;
                    _state.Counters.Retry();
                    if (_request.HasBody && !replaying)
                    {
                        // The client's pipe has moved on: the head is parsed again from the copy.
                        RequestHeadParser.TryParse(_exchange.Replay.Head, _request, config.Limits, out _, out _);
                        replaying = true;
                    }

                    connection = await _attempt.NextAsync(pooled: true).ConfigureAwait(false);
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
            _rewriter.Tracing?.End(_answered, outcome);
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
        _exchange.Dispose();
        if (_requestScratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_requestScratch);
        }
    }

    private void OnCloseRequested()
    {
        _closeRequested = true;
        _exchange.CloseRequested = true;
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
        var backend = _attempt.Backend!;
        _rewriter.Tracing?.OnExchange(backend);
        backend.Begin();
        _state.Counters.Request();
        bool keep = false;
        try
        {
            var outcome = await _exchange.RunAsync(connection, _attempt, config, buffered, replaying).ConfigureAwait(false);
            keep = _exchange.KeepBackend && outcome == ExchangeOutcome.KeepAlive;
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
            int status = _attempt.FailureStatus != 0 ? _attempt.FailureStatus : 503;
            WriteAccessLog(status, _attempt.FailedBackend);
            _exchange.ReleaseHead();
            await SendAsync(status).ConfigureAwait(false);
            return false;
        }

        switch (outcome)
        {
            case ExchangeOutcome.KeepAlive:
                WriteAccessLog(_exchange.Status, _attempt.Backend);
                _exchange.ReleaseHead();
                return true;
            case ExchangeOutcome.Close:
                WriteAccessLog(_exchange.Status, _attempt.Backend);
                _exchange.ReleaseHead();
                await _clientOut.CompleteAsync().ConfigureAwait(false);
                return false;
            case ExchangeOutcome.ClientRejected:
                await RejectAsync(_exchange.ClientError).ConfigureAwait(false);
                WriteAccessLog(Rejections.StatusCode(_exchange.ClientError), _attempt.Backend);
                return false;
            case ExchangeOutcome.ClientGone:
                return false;
            case ExchangeOutcome.Abort:
                WriteAccessLog(_exchange.Status, _attempt.Backend);
                _exchange.ReleaseHead();
                _connection.Abort(new ConnectionAbortedException("the backend failed after the response had started"));
                return false;
            default:
                WriteAccessLog(_attempt.FailureStatus, _attempt.FailedBackend);
                _exchange.ReleaseHead();
                await SendAsync(_attempt.FailureStatus).ConfigureAwait(false);
                return false;
        }
    }

    private ReadOnlyMemory<byte> RequestView(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.First;
        }

        _requestScratch ??= ArrayPool<byte>.Shared.Rent(_requestScratchSize);
        return HeadParser.Contiguous(buffer, _requestScratch);
    }

    // A body limit known from Content-Length, or chunked framing that is already broken in the
    // bytes that came with the head, is refused before anything reaches a backend.
    private RejectReason CheckBodyBeforeForwarding(in ReadOnlySequence<byte> buffered, HttpLimits limits)
    {
        if (limits.MaxBodyBytes > 0 && _request.ContentLength > limits.MaxBodyBytes)
        {
            return RejectReason.BodyTooLarge;
        }

        if (_request.Chunked)
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
        KeyExtractor.TryFromHead(_request, source, out var key) ? key : _clientIpKey.AsSpan(0, _clientIpKeyLength);

    private void KeepForAccessLog()
    {
        _requestStart = Stopwatch.GetTimestamp();
        var method = _request.Raw.Span[.._request.MethodLength];
        var target = _request.Target;
        int length = method.Length + target.Length;
        if (_accessRequest is null || _accessRequest.Length < length)
        {
            // Once per connection, or when a longer request line comes along.
            _accessRequest = new byte[Math.Max(length, 256)];
        }

        method.CopyTo(_accessRequest);
        target.CopyTo(_accessRequest.AsSpan(method.Length));
        _accessMethodLength = method.Length;
        _accessTargetLength = target.Length;
    }

    private void WriteAccessLog(int status, Backend? backend)
    {
        _answered = status;
        if (_state.AccessLog is { } log && _accessRequest is not null)
        {
            log.Write(_clientIpText.AsSpan(0, _clientIpTextLength), _accessRequest.AsSpan(0, _accessMethodLength),
                _accessRequest.AsSpan(_accessMethodLength, _accessTargetLength), _request.IsHttp11, status, backend?.Config.Id, _requestStart,
                _rewriter.Tracing is { } tracing ? tracing.RequestId : default);
        }
    }

    // 429 from the balancer; nothing reaches a backend. The connection stays open when HTTP lets
    // it (keep-alive, and no body that would have to be read and thrown away first). False when it closes.
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> AnswerRateLimitedAsync(ReadOnlySequence<byte> buffer, SequencePosition bodyStart, int retryAfter)
    {
        bool keep = _request.KeepAlive && !_request.HasBody && !_closeRequested;
        _clientIn.AdvanceTo(keep ? bodyStart : buffer.End);
        _state.Counters.OwnResponse(429);
        _rateLimits.LogLimited(_state.Logger, _connection.ConnectionId, retryAfter);
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
            _rewriter.Tracing = null;
            return;
        }

        _tracing ??= new RequestTracing(_state.TraceExport.Logger, _connection.ConnectionId, _https);
        _tracing.Begin(_request, config, keyHash);
        _rewriter.Tracing = _tracing;
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
