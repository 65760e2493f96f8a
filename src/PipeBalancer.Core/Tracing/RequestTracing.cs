using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Http1;

namespace PipeBalancer.Tracing;

/// <summary>
/// The trace context of the request in progress on one client connection: its W3C
/// <c>traceparent</c> and <c>tracestate</c>, the balancer's span for it, and its request id.
/// <see cref="Begin"/> decides, from the request and the configuration in force, which incoming
/// fields the head rewriter drops (<see cref="Drops"/>) and which it adds
/// (<see cref="WriteFields"/>); <see cref="End"/> closes the span. One instance per client
/// connection (created when tracing or request ids are first on), reused for every request.
/// </summary>
/// <remarks>
/// The span is of kind Client: it is the parent of the backend's server span (its span id is the
/// forwarded traceparent's parent id), and the attributes it carries are those the HTTP
/// conventions define for the client side of an exchange: the backend's address and port and
/// the resend count. The trace decision: a valid incoming traceparent is followed (sampled:
/// the balancer's span continues it; not sampled: both fields pass through unchanged); an
/// absent or invalid one (then tracestate is dropped too, as the specification asks) starts a
/// new trace with probability <c>tracing.samplingRatio</c>, or forwards no trace at all.
/// </remarks>
internal sealed class RequestTracing(ILogger logger, string connectionId, bool https)
{
    private const int TraceParentLine = 13 + TraceParent.Length + 2;

    private readonly byte[] _id = new byte[RequestIdConfig.MaxLength];
    private int _idLength;
    private bool _idOn;
    private RequestIdConfig? _idConfig;
    private byte[] _idName = [];

    private bool _dropTraceParent;
    private bool _dropTraceState;
    private bool _writeTraceParent;
    private TraceParent _forward;
    private Activity? _activity;
    private Backend? _backend;
    private int _exchanges;

    /// <summary>The request's id as forwarded (empty when request ids are off).</summary>
    public ReadOnlySpan<byte> RequestId => _idOn ? _id.AsSpan(0, _idLength) : default;

    /// <summary>The traceparent forwarded with the request, when the balancer wrote one.</summary>
    public TraceParent? Forwarded => _writeTraceParent ? _forward : null;

    /// <summary>The span of the request in progress (null when not recorded).</summary>
    public Activity? Activity => _activity;

    /// <summary>Takes up a newly parsed request under <paramref name="config"/>.</summary>
    public void Begin(RequestHead request, BalancerConfig config, uint keyHash)
    {
        End(0, ExchangeOutcome.ClientGone);
        _exchanges = 0;
        _backend = null;
        _idOn = config.RequestId.Enabled;
        if (_idOn)
        {
            TakeRequestId(request, config.RequestId);
        }

        _dropTraceParent = _dropTraceState = _writeTraceParent = false;
        if (config.Tracing.Enabled)
        {
            StartTrace(request, config.Tracing, keyHash);
        }
    }

    /// <summary>An exchange with <paramref name="backend"/> starts (the first, or a resend).</summary>
    public void OnExchange(Backend backend)
    {
        _backend = backend;
        _exchanges++;
    }

    /// <summary>Whether field <paramref name="index"/> of <paramref name="request"/> is left out of the forwarded head.</summary>
    public bool Drops(RequestHead request, int index)
    {
        if (!_idOn && !_dropTraceParent && !_dropTraceState)
        {
            return false;
        }

        var name = request.Name(index);
        return (_idOn && Ascii.EqualsIgnoreCase(name, _idName)) ||
            (_dropTraceParent && Ascii.EqualsIgnoreCase(name, "traceparent"u8)) ||
            (_dropTraceState && Ascii.EqualsIgnoreCase(name, "tracestate"u8));
    }

    /// <summary>Adds the balancer's traceparent and the request id to the forwarded head.</summary>
    public void WriteFields(ref HeadWriter output)
    {
        if (_writeTraceParent)
        {
            Span<byte> line = stackalloc byte[TraceParentLine];
            "traceparent: "u8.CopyTo(line);
            _forward.Format(line[13..]);
            "\r\n"u8.CopyTo(line[(13 + TraceParent.Length)..]);
            output.Write(line);
        }

        if (_idOn)
        {
            output.Write(_idName);
            output.Write(": "u8);
            output.Write(_id.AsSpan(0, _idLength));
            output.Write("\r\n"u8);
        }
    }

    /// <summary>
    /// Ends the request's span: <paramref name="status"/> is what the client got (0 for none),
    /// <paramref name="outcome"/> how the last exchange ended. Nothing when no span is open.
    /// </summary>
    public void End(int status, ExchangeOutcome outcome)
    {
        var activity = _activity;
        if (activity is null)
        {
            return;
        }

        _activity = null;
        if (activity.IsAllDataRequested)
        {
            if (_backend is { } backend)
            {
                activity.SetTag("server.address", backend.Config.Address.Host);
                activity.SetTag("server.port", backend.Config.Address.Port);
                activity.SetTag(ProxyActivity.BackendId, backend.Config.Id);
            }

            if (status > 0)
            {
                activity.SetTag("http.response.status_code", status);
            }

            if (_exchanges > 1)
            {
                activity.SetTag("http.request.resend_count", _exchanges - 1);
            }

            string? error = ErrorType(status, outcome);
            if (error is not null)
            {
                activity.SetTag("error.type", error);
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }

        activity.Stop();
    }

    // OpenTelemetry's HTTP client conventions: a status of 400 or more is an error named by its
    // code; a request that got no status (or lost its response midway) is named by what happened.
    private static string? ErrorType(int status, ExchangeOutcome outcome) => outcome switch
    {
        ExchangeOutcome.Abort => "response_aborted",
        ExchangeOutcome.ClientGone => "client_gone",
        _ when status >= 400 => status.ToString(CultureInfo.InvariantCulture),
        _ when status == 0 => "no_response",
        _ => null,
    };

    private void TakeRequestId(RequestHead request, RequestIdConfig config)
    {
        if (!ReferenceEquals(config, _idConfig))
        {
            // Once per configuration, not per request.
            _idConfig = config;
            _idName = Encoding.ASCII.GetBytes(config.Header);
        }

        int field = request.Find(_idName);
        if (field >= 0 && RequestIds.IsValid(request.Value(field)))
        {
            var value = request.Value(field);
            value.CopyTo(_id);
            _idLength = value.Length;
            return;
        }

        if (field >= 0)
        {
            Log.RequestIdReplaced(logger, connectionId, config.Header);
        }

        RequestIds.Generate(_id);
        _idLength = RequestIds.GeneratedLength;
    }

    private void StartTrace(RequestHead request, TracingConfig config, uint keyHash)
    {
        int field = -1;
        int count = 0;
        bool traceState = false;
        for (int i = 0; i < request.FieldCount; i++)
        {
            var name = request.Name(i);
            if (Ascii.EqualsIgnoreCase(name, "traceparent"u8))
            {
                field = i;
                count++;
            }
            else if (Ascii.EqualsIgnoreCase(name, "tracestate"u8))
            {
                traceState = true;
            }
        }

        // Two traceparent fields cannot both be the caller's: the pair is as good as none.
        TraceParent incoming = default;
        bool valid = count == 1 && TraceParent.TryParse(request.Value(field), out incoming);
        if (valid)
        {
            if (!incoming.Sampled)
            {
                // The caller records nothing: neither does the balancer, and the context goes on as it came.
                return;
            }

            _dropTraceParent = true;
        }
        else
        {
            _dropTraceParent = count > 0;
            _dropTraceState = traceState;
            double ratio = config.SamplingRatio;
            if (!(ratio >= 1 || (ratio > 0 && Random.Shared.NextDouble() < ratio)))
            {
                return;
            }
        }

        _writeTraceParent = true;
        if (!ProxyActivity.Source.HasListeners())
        {
            // Nobody listens (no exporter): the context is still carried on, with a span id of the
            // balancer's own, so the backend's spans still join the caller's trace.
            _forward = valid ? incoming.WithNewParent() : TraceParent.NewTrace();
            return;
        }

        // A span without a parent context would take Activity.Current for its parent: the span of
        // an earlier request on this connection is never that.
        if (Activity.Current is not null)
        {
            Activity.Current = null;
        }

        var method = ProxyActivity.MethodName(request.Method);
        var parent = valid ? new ActivityContext(incoming.TraceId, incoming.ParentId, incoming.Flags, isRemote: true) : default;
        var activity = ProxyActivity.Source.StartActivity(method, ActivityKind.Client, parent);
        if (activity is not null)
        {
            _activity = activity;
            _forward = new TraceParent(activity.TraceId, activity.SpanId, ActivityTraceFlags.Recorded);
            if (activity.IsAllDataRequested)
            {
                activity.SetTag("http.request.method", method);
                if (request.Method == RequestMethod.Other)
                {
                    activity.SetTag("http.request.method_original", Encoding.ASCII.GetString(request.Raw.Span[..request.MethodLength]));
                }

                activity.SetTag("url.scheme", https ? "https" : "http");
                activity.SetTag("url.path", Encoding.ASCII.GetString(KeyPath(request.Target)));
                activity.SetTag("network.protocol.version", request.IsHttp11 ? "1.1" : "1.0");
                activity.SetTag(ProxyActivity.KeyHash, (long)keyHash);
            }
        }
        else
        {
            // The listener declined it (its own sampler): the context goes on all the same.
            _forward = valid ? incoming.WithNewParent() : TraceParent.NewTrace();
        }
    }

    // The path of an origin-form target, or of an absolute-form one, without its query.
    private static ReadOnlySpan<byte> KeyPath(ReadOnlySpan<byte> target)
    {
        if (!target.IsEmpty && target[0] != (byte)'/')
        {
            int scheme = target.IndexOf("://"u8);
            if (scheme >= 0)
            {
                var rest = target[(scheme + 3)..];
                int slash = rest.IndexOf((byte)'/');
                target = slash >= 0 ? rest[slash..] : "/"u8;
            }
        }

        int query = target.IndexOf((byte)'?');
        return query >= 0 ? target[..query] : target;
    }
}
