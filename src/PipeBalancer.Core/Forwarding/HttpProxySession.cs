using System.Diagnostics;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using PipeBalancer.Backends;
using PipeBalancer.Http1;
using PipeBalancer.Routing;

namespace PipeBalancer.Forwarding;

/// <summary>
/// One client connection of an HTTP listener: reads each request head from the pipe, routes it
/// on its own key, forwards head and body to a pooled backend connection, relays the response,
/// and loops for the next request (keep-alive, pipelining) until either side closes.
/// Everything per request lives in this object, so the steady state allocates nothing.
/// </summary>
internal sealed class HttpProxySession : ITimeoutWatched, IDisposable
{
    private static readonly byte[] ForwardedForPrefix = "X-Forwarded-For: "u8.ToArray();

    // A head is written into one span of at most one pool block; a bigger one spills over.
    private const int MaxHeadSpan = 4096;

    /// <summary>Most fields accepted in a backend's response head.</summary>
    private const int MaxResponseFields = 256;

    private readonly ConnectionContext _connection;
    private readonly ProxyState _state;
    private readonly PipeReader _clientIn;
    private readonly PipeWriter _clientOut;
    private readonly RequestHead _request;
    private readonly ResponseHead _response;
    private readonly int _requestScratchSize;

    // Heads that arrive split across pipe segments are copied into these; rented on first need,
    // since most heads fit in one segment and an idle connection should cost little memory.
    private byte[]? _requestScratch;
    private byte[]? _responseScratch;
    private readonly byte[] _clientIpKey = new byte[KeyExtractor.MaxClientIpKeyLength];
    private readonly byte[] _clientIpText = new byte[64];
    private readonly int _clientIpKeyLength;
    private readonly int _clientIpTextLength;
    private ulong[] _seen = new ulong[1];
    private ChunkedReader _chunked;

    // Deadlines in Environment.TickCount64 milliseconds, checked by the heartbeat.
    private long _clientDeadline = long.MaxValue;
    private long _backendDeadline = long.MaxValue;
    private BackendConnection? _watchedBackend;
    private volatile bool _clientTimedOut;
    private volatile bool _backendTimedOut;
    private RejectReason _uploadError;
    private bool _badResponse;

    // Shutdown or a listener removed by a reload: Kestrel asks the connection to close. An idle
    // connection closes at once; a request in progress finishes with Connection: close.
    private readonly CancellationTokenRegistration _closeRegistration;
    private volatile bool _closeRequested;
    private volatile bool _waitingForRequest;

    // Whether the client connection came through the listener's TLS.
    private readonly bool _https;

    // For the access log (unused when it is off): when the current request's head was complete,
    // and its method and target, copied because a body's upload moves the pipe past the head.
    private long _requestStart;
    private byte[]? _accessRequest;
    private int _accessMethodLength;
    private int _accessTargetLength;

    // The status the client got for the current exchange (0 until it gets one).
    private int _answeredStatus;

    // Whether the request head is still unconsumed in the client pipe: it is kept until the
    // exchange ends so that a request without a body can be sent again on a fresh connection.
    private bool _headHeld;

    // A copy of the request (head, then body) kept while an idempotent request with a body of
    // at most retries.maxBufferedBodyBytes is sent, so that it can be sent again elsewhere.
    private byte[]? _replay;
    private int _replayHeadLength;
    private int _replayBodyLength;
    private int _replayLimit;
    private bool _replayKeep;
    private bool _replayReady;
    private bool _replaying;

    public HttpProxySession(ConnectionContext connection, ProxyState state)
    {
        _connection = connection;
        _state = state;
        _clientIn = connection.Transport.Input;
        _clientOut = connection.Transport.Output;
        var limits = state.Current.Config.Limits;
        _request = new RequestHead(limits.MaxHeaderCount);
        _response = new ResponseHead(MaxResponseFields);
        _requestScratchSize = limits.MaxHeadBytes;

        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        _clientIpKeyLength = KeyExtractor.WriteClientIp(address, _clientIpKey);
        address.TryFormat(_clientIpText, out _clientIpTextLength);
        _https = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is not null;
        var lifetime = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>();
        if (lifetime is not null)
        {
            _closeRegistration = lifetime.ConnectionClosedRequested.Register(static s => ((HttpProxySession)s!).OnCloseRequested(), this);
        }
    }

    private void OnCloseRequested()
    {
        _closeRequested = true;
        if (_waitingForRequest)
        {
            _clientIn.CancelPendingRead();
        }
    }

    private enum Outcome : byte
    {
        /// <summary>The response went to the client; the connection may carry another request.</summary>
        KeepAlive,

        /// <summary>The response went to the client; the connection must close.</summary>
        Close,

        /// <summary>A reused connection failed before any response byte: try a fresh one.</summary>
        RetryFresh,

        /// <summary>The backend failed before its response head: answer 502 or 504 and close.</summary>
        BackendFailed,

        /// <summary>The response had started when something failed: abort the client connection.</summary>
        Abort,
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

        var backend = _watchedBackend;
        if (backend is not null && now >= Volatile.Read(ref _backendDeadline))
        {
            Volatile.Write(ref _backendDeadline, long.MaxValue);
            _backendTimedOut = true;
            backend.CancelRead();
        }
    }

    public async Task RunAsync()
    {
        while (true)
        {
            var snapshot = _state.Current;
            var config = snapshot.Config;
            var limits = config.Limits;

            // An idle connection waits keepAliveMs for its next request; once a byte of it has
            // arrived, the whole head must follow within headersMs (slowloris).
            Volatile.Write(ref _clientDeadline, Now + config.Timeouts.KeepAliveMs);
            bool started = false;
            _waitingForRequest = true;
            if (_closeRequested)
            {
                return;
            }

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

                    continue;
                }

                if (!started && !buffer.IsEmpty)
                {
                    started = true;
                    _waitingForRequest = false;
                    Volatile.Write(ref _clientDeadline, Now + config.Timeouts.HeadersMs);
                }

                var view = View(buffer, ref _requestScratch, _requestScratchSize);
                var status = RequestHeadParser.TryParse(view, _request, limits, out consumed, out var reason);
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

            // The snapshot read above may be older than this request (the connection sat idle
            // through a change): the request routes on the configuration in force now.
            snapshot = _state.Current;
            config = snapshot.Config;
            limits = config.Limits;
            var bodyStart = buffer.GetPosition(consumed);
            var early = CheckBodyBeforeForwarding(buffer.Slice(bodyStart), limits);
            if (early != RejectReason.None)
            {
                _clientIn.AdvanceTo(buffer.End);
                await RejectAsync(early).ConfigureAwait(false);
                return;
            }

            _headHeld = true;
            _replayKeep = false;
            _replayReady = false;
            _replaying = false;
            var backends = snapshot.Backends;
            var router = backends.Router;
            uint hash = router.HashKey(RoutingKey(config.Routing.Key));
            if (_seen.Length < router.SeenLength)
            {
                _seen = new ulong[router.SeenLength];
            }

            // The exchange is written out here rather than in a method of its own: one async
            // state machine per connection then serves every request on it, where an awaited
            // helper would allocate a box per request.
            var walk = router.Begin(hash, backends, _seen);
            bool tried = false;
            int retries = 0;
            _state.RetryBudget.Request();
            while (true)
            {
                int server = router.Next(ref walk, _seen, backends);
                if (server < 0)
                {
                    // No server left: with nothing eligible, 503; when every server tried
                    // failed, 502 (or 504 when the last one timed out).
                    int status = !tried ? 503 : _backendTimedOut ? 504 : 502;
                    WriteAccessLog(status, null);
                    ReleaseHead(buffer.End);
                    await SendAsync(status).ConfigureAwait(false);
                    return;
                }

                var backend = backends[server];
                if (!backend.TryAdmit())
                {
                    // A half-open circuit lets one trial request through; others walk on.
                    continue;
                }

                var connection = backend.Pool.Rent();
                for (int attempt = 0; attempt < 2; attempt++)
                {
                    if (connection is null)
                    {
                        tried = true;
                        connection = await ConnectAsync(backend, snapshot).ConfigureAwait(false);
                        if (connection is null)
                        {
                            // Nothing was sent: any method may go on to the next server.
                            break;
                        }
                    }

                    Outcome outcome;
                    backend.Begin();
                    _state.Counters.Request();
                    bool reused = connection.Reused;
                    long sentAt = Stopwatch.GetTimestamp();
                    bool keepConnection = false;
                    bool hasBody = _request.HasBody;
                    bool responseStarted = false;
                    _answeredStatus = 0;
                    Task<bool>? upload = null;
                    try
                    {
                        WriteRequestHead(connection.Output, snapshot.Config.ForwardedHeaders);
                        if (hasBody && !_replaying)
                        {
                            _uploadError = RejectReason.None;
                            KeepForReplay(config.Retries.MaxBufferedBodyBytes);
                            upload = UploadBodyAsync(connection, buffer, bodyStart, snapshot.Config.Limits.MaxBodyBytes);
                        }
                        else
                        {
                            if (_replaying)
                            {
                                connection.Output.Write(_replay.AsSpan(_replayHeadLength, _replayBodyLength));
                            }

                            if ((await connection.Output.FlushAsync().ConfigureAwait(false)).IsCompleted)
                            {
                                outcome = reused && _request.IsIdempotent ? Outcome.RetryFresh : Outcome.BackendFailed;
                                goto ExchangeDone;
                            }
                        }

                        // Response head, after any 1xx (100 Continue is relayed, and the client then sends its body).
                        _backendTimedOut = false;
                        _badResponse = false;
                        Volatile.Write(ref _backendDeadline, Now + snapshot.Config.Timeouts.ResponseHeadMs);
                        _watchedBackend = connection;
                        bool relayedInformational = false;
                        ReadOnlySequence<byte> response;
                        int responseConsumed;
                        while (true)
                        {
                            var result = await connection.Input.ReadAsync().ConfigureAwait(false);
                            response = result.Buffer;
                            if (result.IsCanceled)
                            {
                                connection.Input.AdvanceTo(response.Start, response.End);
                                if (_backendTimedOut)
                                {
                                    outcome = await FailBeforeResponseAsync(upload).ConfigureAwait(false);
                                    goto ExchangeDone;
                                }

                                continue;
                            }

                            var view = View(response, ref _responseScratch, ResponseHeadParser.MaxHeadBytes);
                            var status = ResponseHeadParser.TryParse(view, _response, _response.Fields.Length, out responseConsumed);
                            if (status == ParseStatus.Complete)
                            {
                                if (_response.Status is >= 100 and < 200 and not 101)
                                {
                                    _clientOut.Write(_response.Raw.Span);
                                    connection.Input.AdvanceTo(response.GetPosition(responseConsumed));
                                    relayedInformational = true;
                                    if ((await _clientOut.FlushAsync().ConfigureAwait(false)).IsCompleted)
                                    {
                                        outcome = Outcome.Abort;
                                        goto ExchangeDone;
                                    }

                                    continue;
                                }

                                break;
                            }

                            if (status == ParseStatus.Error || result.IsCompleted)
                            {
                                connection.Input.AdvanceTo(response.End);
                                _badResponse = status == ParseStatus.Error;
                                bool nothingReceived = response.IsEmpty && status != ParseStatus.Error && !relayedInformational;
                                if (nothingReceived && reused && (!hasBody || _replaying) && _request.IsIdempotent)
                                {
                                    // The backend closed a pooled connection just as it was reused.
                                    outcome = Outcome.RetryFresh;
                                    goto ExchangeDone;
                                }

                                outcome = await FailBeforeResponseAsync(upload).ConfigureAwait(false);
                                goto ExchangeDone;
                            }

                            connection.Input.AdvanceTo(response.Start, response.End);
                        }

                        _watchedBackend = null;
                        Volatile.Write(ref _backendDeadline, long.MaxValue);
                        backend.Stats.Response(_response.Status, sentAt);
                        if (_response.Status >= 500 && snapshot.Config.Circuit.Count5xx)
                        {
                            backend.RecordFailure(BackendErrorKind.Status5xx);
                        }
                        else
                        {
                            backend.RecordSuccess();
                        }

                        _answeredStatus = _response.Status;
                        if (_response.Status == 101)
                        {
                            outcome = await TunnelAsync(connection, response.GetPosition(responseConsumed), bodyStart).ConfigureAwait(false);
                            goto ExchangeDone;
                        }

                        var framing = ResponseHeadParser.Framing(_response, _request.Method);
                        bool clientKeepAlive = _request.KeepAlive && framing != BodyFraming.CloseDelimited && !_closeRequested;
                        responseStarted = true;
                        bool relayed;
                        if (framing == BodyFraming.None ||
                            (framing == BodyFraming.ContentLength && response.Length - responseConsumed >= _response.ContentLength))
                        {
                            // The whole response is here (the usual case for a small one): head and
                            // body go out in one write, and the backend pipe is advanced once.
                            var body = response.Slice(responseConsumed, framing == BodyFraming.None ? 0 : _response.ContentLength);
                            WriteResponseHead(clientKeepAlive, body);
                            connection.Input.AdvanceTo(body.End);
                            relayed = true;
                        }
                        else
                        {
                            WriteResponseHead(clientKeepAlive, default);
                            connection.Input.AdvanceTo(response.GetPosition(responseConsumed));
                            relayed = framing switch
                            {
                                BodyFraming.ContentLength => await CopyLengthAsync(connection.Input, _clientOut, _response.ContentLength).ConfigureAwait(false),
                                BodyFraming.Chunked => await CopyChunkedAsync(connection.Input, _clientOut).ConfigureAwait(false),
                                _ => await Splice.CopyToEndAsync(connection.Input, _clientOut).ConfigureAwait(false),
                            };
                        }

                        if (!relayed || (await _clientOut.FlushAsync().ConfigureAwait(false)).IsCompleted)
                        {
                            outcome = Outcome.Abort;
                            goto ExchangeDone;
                        }

                        bool uploaded = true;
                        if (upload is not null)
                        {
                            if (!upload.IsCompleted)
                            {
                                // The backend answered before taking the whole body: neither connection can
                                // carry another request.
                                connection.Dispose();
                                _clientIn.CancelPendingRead();
                            }

                            uploaded = await upload.ConfigureAwait(false);
                        }

                        keepConnection = uploaded && _request.IsHttp11 && _response.IsHttp11 && !_response.ConnectionClose && framing != BodyFraming.CloseDelimited;
                        outcome = clientKeepAlive && uploaded ? Outcome.KeepAlive : Outcome.Close;
                        goto ExchangeDone;
                    }
                    catch (Exception e) when (BackendConnection.IsConnectionFailure(e))
                    {
                        // A reset or a closed pipe on either side. Before the response started, the client
                        // can still be told (502), or a request that was surely not acted on can be retried;
                        // after, only aborting the client connection keeps the response from looking whole.
                        if (responseStarted)
                        {
                            outcome = Outcome.Abort;
                            goto ExchangeDone;
                        }

                        if (upload is not null)
                        {
                            connection.Dispose();
                            if (await FailBeforeResponseAsync(upload).ConfigureAwait(false) == Outcome.Close)
                            {
                                // The client's body broke a limit or its framing: that is the answer.
                                outcome = Outcome.Close;
                                goto ExchangeDone;
                            }
                        }

                        outcome = reused && (!hasBody || _replaying) && _request.IsIdempotent ? Outcome.RetryFresh : Outcome.BackendFailed;
                        goto ExchangeDone;
                    }
                    finally
                    {
                        _watchedBackend = null;
                        Volatile.Write(ref _backendDeadline, long.MaxValue);
                        backend.End();
                        connection.Account(backend.Stats);
                        if (keepConnection && !backend.Draining)
                        {
                            backend.Pool.Return(connection);
                        }
                        else
                        {
                            connection.Dispose();
                        }
                    }
    
                ExchangeDone:
                    if (outcome == Outcome.RetryFresh)
                    {
                        connection = null;
                        continue;
                    }

                    if (outcome == Outcome.BackendFailed)
                    {
                        backend.RecordFailure(_backendTimedOut ? BackendErrorKind.Timeout : _badResponse ? BackendErrorKind.BadResponse : BackendErrorKind.Reset);

                        // Sent, but no response byte reached the client: a request that is
                        // safe to repeat (idempotent, and without a body or with one small
                        // enough to have been kept whole) goes to the next server, within the
                        // retry limit and the budget.
                        if ((!_request.HasBody || _replayReady || _replaying) && _request.IsIdempotent &&
                            retries < config.Retries.Max && _state.RetryBudget.TryRetry())
                        {
                            retries++;
                            _state.Counters.Retry();
                            if (_request.HasBody && !_replaying)
                            {
                                // The client's pipe has moved on: the head is parsed again from the copy.
                                RequestHeadParser.TryParse(_replay.AsMemory(0, _replayHeadLength), _request, limits, out _, out _);
                                _replaying = true;
                            }

                            break;
                        }
                    }

                    if (_state.AccessLog is not null)
                    {
                        // While the head is still in the pipe: the line quotes its method and target.
                        WriteAccessLog(outcome == Outcome.BackendFailed ? (_backendTimedOut ? 504 : 502) : _answeredStatus, backend);
                    }

                    ReleaseHead(bodyStart);
                    switch (outcome)
                    {
                        case Outcome.KeepAlive:
                            goto NextRequest;
                        case Outcome.BackendFailed:
                            await SendAsync(_backendTimedOut ? 504 : 502).ConfigureAwait(false);
                            return;
                        case Outcome.Abort:
                            _connection.Abort(new ConnectionAbortedException("the backend failed after the response had started"));
                            return;
                        default:
                            await _clientOut.CompleteAsync().ConfigureAwait(false);
                            return;
                    }
                }
            }

        NextRequest:
            ;
        }
    }

    public void Dispose()
    {
        _closeRegistration.Dispose();
        if (_requestScratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_requestScratch);
        }

        if (_responseScratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_responseScratch);
        }

        if (_replay is not null)
        {
            ArrayPool<byte>.Shared.Return(_replay);
        }
    }

    private static ReadOnlyMemory<byte> View(in ReadOnlySequence<byte> buffer, ref byte[]? scratch, int size)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.First;
        }

        scratch ??= ArrayPool<byte>.Shared.Rent(size);
        return HeadParser.Contiguous(buffer, scratch);
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

    private ReadOnlySpan<byte> RoutingKey(KeySource source)
    {
        switch (source.Kind)
        {
            case KeySourceKind.Path:
                return KeyExtractor.FromTarget(_request.Target, includeQuery: false);
            case KeySourceKind.PathQuery:
                return KeyExtractor.FromTarget(_request.Target, includeQuery: true);
            case KeySourceKind.Header:
                int field = _request.Find(source.NameBytes.Span);
                if (field >= 0)
                {
                    return _request.Value(field);
                }

                break;
            case KeySourceKind.Cookie:
                for (int i = 0; i < _request.FieldCount; i++)
                {
                    if (_request.Fields[i].Kind == FieldKind.Cookie &&
                        KeyExtractor.TryGetCookie(_request.Value(i), source.NameBytes.Span, out var value))
                    {
                        return value;
                    }
                }

                break;
        }

        return _clientIpKey.AsSpan(0, _clientIpKeyLength);
    }

    private async ValueTask<BackendConnection?> ConnectAsync(Backend backend, ProxySnapshot snapshot)
    {
        try
        {
            return await BackendConnection.ConnectAsync(backend.EndPoint, snapshot.Config.Timeouts.ConnectMs, _state.BackendPipeOptions, _state.BackendPipeOptions, backend.Stats)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            backend.RecordFailure(BackendErrorKind.Connect);
            Log.ConnectFailed(_state.Logger, backend.Config.Id, backend.Config.Address.Text, e.Message);
            return null;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> FailBeforeResponseAsync(Task<bool>? upload)
    {
        if (upload is not null)
        {
            if (!upload.IsCompleted)
            {
                _clientIn.CancelPendingRead();
            }

            await upload.ConfigureAwait(false);

            // The upload stopped on the client's own error (a body over the limit, bad chunk
            // framing), which is why the backend gave up: the client gets 413 or 400, not 502.
            if (_uploadError != RejectReason.None)
            {
                await RejectAsync(_uploadError).ConfigureAwait(false);
                return Outcome.Close;
            }
        }

        return Outcome.BackendFailed;
    }

    private async Task<bool> UploadBodyAsync(BackendConnection connection, ReadOnlySequence<byte> buffer, SequencePosition bodyStart, long maxBodyBytes)
    {
        try
        {
            return await UploadBodyCoreAsync(connection, buffer, bodyStart, maxBodyBytes).ConfigureAwait(false);
        }
        catch (Exception e) when (BackendConnection.IsConnectionFailure(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Streams the request body to the backend by its framing, starting with the bytes that
    /// arrived with the head. False when the client went away or sent a malformed body
    /// (<see cref="_uploadError"/> then says why).
    /// </summary>
    private async Task<bool> UploadBodyCoreAsync(BackendConnection connection, ReadOnlySequence<byte> buffer, SequencePosition bodyStart, long maxBodyBytes)
    {
        var output = connection.Output;
        var current = buffer.Slice(bodyStart);
        long remaining = _request.ContentLength;
        _chunked.Reset();
        bool first = true;
        bool clientDone = false;
        while (true)
        {
            if (!first)
            {
                var result = await _clientIn.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    _clientIn.AdvanceTo(result.Buffer.Start);
                    return false;
                }

                current = result.Buffer;
                clientDone = result.IsCompleted;
            }

            first = false;
            long take;
            bool done;
            if (_request.Chunked)
            {
                var status = _chunked.Read(current, out take, out var reason);
                if (status == ParseStatus.Error || (maxBodyBytes > 0 && _chunked.DataBytes > maxBodyBytes))
                {
                    // The backend must not act on a truncated request: drop its connection.
                    _uploadError = status == ParseStatus.Error ? reason : RejectReason.BodyTooLarge;
                    _clientIn.AdvanceTo(current.End);
                    _headHeld = false;
                    connection.Dispose();
                    return false;
                }

                done = status == ParseStatus.Complete;
            }
            else
            {
                take = Math.Min(current.Length, remaining);
                remaining -= take;
                done = remaining == 0;
            }

            foreach (var segment in current.Slice(0, take))
            {
                output.Write(segment.Span);
                KeepBody(segment.Span);
            }

            _clientIn.AdvanceTo(current.GetPosition(take));
            _headHeld = false;
            var flush = await output.FlushAsync().ConfigureAwait(false);
            if (done)
            {
                _replayReady = _replayKeep && !flush.IsCompleted;
                return !flush.IsCompleted;
            }

            if (flush.IsCompleted || (clientDone && take == current.Length))
            {
                return false;
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> CopyLengthAsync(PipeReader from, PipeWriter to, long length)
    {
        while (length > 0)
        {
            var result = await from.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            long take = Math.Min(buffer.Length, length);
            foreach (var segment in buffer.Slice(0, take))
            {
                to.Write(segment.Span);
            }

            from.AdvanceTo(buffer.GetPosition(take));
            length -= take;
            if (length > 0)
            {
                if (result.IsCompleted || result.IsCanceled)
                {
                    return false;
                }

                if ((await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    return false;
                }
            }
        }

        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> CopyChunkedAsync(PipeReader from, PipeWriter to)
    {
        var reader = default(ChunkedReader);
        while (true)
        {
            var result = await from.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = reader.Read(buffer, out long take, out _);
            if (status == ParseStatus.Error)
            {
                from.AdvanceTo(buffer.End);
                return false;
            }

            foreach (var segment in buffer.Slice(0, take))
            {
                to.Write(segment.Span);
            }

            from.AdvanceTo(buffer.GetPosition(take));
            if (status == ParseStatus.Complete)
            {
                return true;
            }

            if (result.IsCompleted || result.IsCanceled || (await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return false;
            }
        }
    }

    /// <summary>After 101 Switching Protocols both connections carry opaque bytes until one side closes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> TunnelAsync(BackendConnection connection, SequencePosition afterHead, SequencePosition bodyStart)
    {
        if (!_request.IsUpgrade)
        {
            // A 101 the client did not ask for cannot be relayed.
            connection.Input.AdvanceTo(afterHead);
            return Outcome.BackendFailed;
        }

        _clientOut.Write(_response.Raw.Span);
        connection.Input.AdvanceTo(afterHead);
        ReleaseHead(bodyStart);
        if ((await _clientOut.FlushAsync().ConfigureAwait(false)).IsCompleted)
        {
            return Outcome.Abort;
        }

        var up = Splice.CopyAsync(_clientIn, connection.Output);
        var down = Splice.CopyAsync(connection.Input, _clientOut);
        await Task.WhenAll(up, down).ConfigureAwait(false);
        return Outcome.Close;
    }

    private void WriteRequestHead(PipeWriter pipe, Configuration.ForwardedHeadersConfig forwarded)
    {
        var raw = _request.Raw.Span;

        // Room for the head and the fields added to it (the values they copy are part of raw).
        var output = new HeadWriter(pipe, Math.Min(raw.Length * 2 + 128, MaxHeadSpan));
        output.Write(raw[.._request.FieldsStart]);
        int runStart = -1;
        int runEnd = -1;
        int forwardedFor = 0;
        int host = -1;
        for (int i = 0; i < _request.FieldCount; i++)
        {
            ref var f = ref _request.Fields[i];
            bool skip = f.Drop ||
                (f.Kind == FieldKind.XForwardedFor && forwarded.For) ||
                (f.Kind == FieldKind.XForwardedProto && forwarded.Proto) ||
                (f.Kind == FieldKind.XForwardedHost && forwarded.Host);
            forwardedFor += f.Kind == FieldKind.XForwardedFor ? 1 : 0;
            host = f.Kind == FieldKind.Host && host < 0 ? i : host;
            if (skip)
            {
                if (runStart >= 0)
                {
                    output.Write(raw[runStart..runEnd]);
                    runStart = -1;
                }

                continue;
            }

            // Field lines follow one another, so the kept ones are copied in runs.
            if (runStart < 0)
            {
                runStart = f.LineStart;
            }

            runEnd = f.LineStart + f.LineLength;
        }

        if (runStart >= 0)
        {
            output.Write(raw[runStart..runEnd]);
        }

        if (_request.IsUpgrade)
        {
            output.Write("Connection: upgrade\r\n"u8);
        }

        if (forwarded.For)
        {
            // Appended to what earlier proxies recorded (several fields join with commas).
            output.Write(ForwardedForPrefix);
            for (int i = 0; i < _request.FieldCount && forwardedFor > 0; i++)
            {
                if (_request.Fields[i].Kind == FieldKind.XForwardedFor)
                {
                    output.Write(_request.Value(i));
                    output.Write(", "u8);
                }
            }

            output.Write(_clientIpText.AsSpan(0, _clientIpTextLength));
            output.Write("\r\n"u8);
        }

        if (forwarded.Proto)
        {
            output.Write(_https ? "X-Forwarded-Proto: https\r\n"u8 : "X-Forwarded-Proto: http\r\n"u8);
        }

        if (forwarded.Host && host >= 0)
        {
            output.Write("X-Forwarded-Host: "u8);
            output.Write(_request.Value(host));
            output.Write("\r\n"u8);
        }

        output.Write("\r\n"u8);
        output.Commit();
    }

    /// <summary>Writes the response head, with its hop-by-hop fields handled, and then <paramref name="body"/> (what of the body is already here, or nothing).</summary>
    private void WriteResponseHead(bool keepAlive, in ReadOnlySequence<byte> body)
    {
        var raw = _response.Raw.Span;
        bool addClose = !keepAlive;
        bool addKeepAlive = keepAlive && !_request.IsHttp11;
        long size = raw.Length + body.Length + 32;
        var output = new HeadWriter(_clientOut, (int)Math.Min(size, MaxHeadSpan));
        if (!_response.HasHopByHop && !addClose && !addKeepAlive)
        {
            output.Write(raw);
        }
        else
        {
            output.Write(raw[.._response.FieldsStart]);
            for (int i = 0; i < _response.FieldCount; i++)
            {
                ref var f = ref _response.Fields[i];
                if (!f.Drop)
                {
                    output.Write(raw.Slice(f.LineStart, f.LineLength));
                }
            }

            if (addClose)
            {
                output.Write("Connection: close\r\n"u8);
            }
            else if (addKeepAlive)
            {
                output.Write("Connection: keep-alive\r\n"u8);
            }

            output.Write("\r\n"u8);
        }

        foreach (var segment in body)
        {
            output.Write(segment.Span);
        }

        output.Commit();
    }

    /// <summary>Starts keeping a copy of an idempotent request whose body may fit in <paramref name="limit"/> bytes.</summary>
    private void KeepForReplay(int limit)
    {
        _replayKeep = limit > 0 && _request.IsIdempotent && (_request.Chunked || _request.ContentLength <= limit);
        if (!_replayKeep)
        {
            return;
        }

        int needed = _request.Raw.Length + limit;
        if (_replay is null || _replay.Length < needed)
        {
            if (_replay is not null)
            {
                ArrayPool<byte>.Shared.Return(_replay);
            }

            _replay = ArrayPool<byte>.Shared.Rent(needed);
        }

        _request.Raw.Span.CopyTo(_replay);
        _replayHeadLength = _request.Raw.Length;
        _replayBodyLength = 0;
        _replayLimit = limit;
    }

    private void KeepBody(ReadOnlySpan<byte> bytes)
    {
        if (!_replayKeep)
        {
            return;
        }

        if (_replayBodyLength + bytes.Length > _replayLimit)
        {
            _replayKeep = false;
            return;
        }

        bytes.CopyTo(_replay.AsSpan(_replayHeadLength + _replayBodyLength));
        _replayBodyLength += bytes.Length;
    }

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
        if (_state.AccessLog is { } log && _accessRequest is not null)
        {
            log.Write(_clientIpText.AsSpan(0, _clientIpTextLength), _accessRequest.AsSpan(0, _accessMethodLength),
                _accessRequest.AsSpan(_accessMethodLength, _accessTargetLength), _request.IsHttp11, status, backend?.Config.Id, _requestStart);
        }
    }

    private void ReleaseHead(SequencePosition position)
    {
        if (_headHeld)
        {
            _headHeld = false;
            _clientIn.AdvanceTo(position);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RejectAsync(RejectReason reason)
    {
        _state.Counters.Rejection(reason);
        _answeredStatus = Rejections.StatusCode(reason);
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
