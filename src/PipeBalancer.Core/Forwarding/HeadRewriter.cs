using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using PipeBalancer.Configuration;
using PipeBalancer.Http1;
using PipeBalancer.Tracing;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Writes the heads that leave the balancer: a request head toward the backend and a response
/// head toward the client, as received except for the edits a proxy owes (RFC 9110 section 7.6,
/// RFC 9112 sections 3.2.2 and 6.3): hop-by-hop fields dropped, X-Forwarded-* set, one
/// Content-Length value for however many the message carried, Content-Length dropped beside
/// Transfer-Encoding, Host taken from an absolute-form target, Connection set for the client.
/// Kept field lines are copied in runs, byte for byte, into one span of the outgoing pipe.
/// One instance per <see cref="RequestState"/>, bound to the connection that rents it.
/// </summary>
internal sealed class HeadRewriter
{
    // A head is written into one span of at most one pool block; a bigger one spills over.
    private const int MaxHeadSpan = 4096;

    private ReadOnlyMemory<byte> _clientIp;
    private bool _https;

    /// <summary>
    /// The trace context step of the request in progress (traceparent, tracestate, request id),
    /// or null when tracing and request ids are off: then those fields pass through untouched.
    /// </summary>
    public RequestTracing? Tracing { get; set; }

    /// <summary>Binds the rewriter to a client connection: its address (X-Forwarded-For) and whether it came over TLS (X-Forwarded-Proto).</summary>
    public void Bind(ReadOnlyMemory<byte> clientIp, bool https)
    {
        _clientIp = clientIp;
        _https = https;
    }

    /// <summary>Writes <paramref name="request"/>'s head, edited, to <paramref name="pipe"/> (no flush).</summary>
    public void WriteRequest(PipeWriter pipe, RequestHead request, ForwardedHeadersConfig forwarded)
    {
        var raw = request.Raw.Span;
        var authority = AbsoluteFormAuthority(request.Target);

        // Room for the head and the fields added to it (the values they copy are part of raw).
        var output = new HeadWriter(pipe, Math.Min(raw.Length * 2 + 128, MaxHeadSpan));
        output.Write(raw[..request.FieldsStart]);
        int runStart = -1;
        int runEnd = -1;
        int forwardedFor = 0;
        int host = -1;
        var tracing = Tracing;
        for (int i = 0; i < request.FieldCount; i++)
        {
            ref var f = ref request.Fields[i];
            bool skip = f.Drop ||
                f.Kind == FieldKind.ContentLength ||
                (f.Kind == FieldKind.Host && !authority.IsEmpty) ||
                (f.Kind == FieldKind.XForwardedFor && forwarded.For) ||
                (f.Kind == FieldKind.XForwardedProto && forwarded.Proto) ||
                (f.Kind == FieldKind.XForwardedHost && forwarded.Host) ||
                (tracing is not null && tracing.Drops(request, i));
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

        var hostValue = !authority.IsEmpty ? authority : host >= 0 ? request.Value(host) : default;
        if (!authority.IsEmpty)
        {
            // RFC 9112 section 3.2.2: the target's authority is the host; a Host field that
            // said otherwise must not reach the backend.
            output.Write("Host: "u8);
            output.Write(authority);
            output.Write("\r\n"u8);
        }

        if (request.ContentLength >= 0)
        {
            WriteContentLength(ref output, request.ContentLength);
        }

        if (request.IsUpgrade)
        {
            output.Write("Connection: upgrade\r\n"u8);
        }

        if (forwarded.For)
        {
            // Appended to what earlier proxies recorded (several fields join with commas).
            output.Write("X-Forwarded-For: "u8);
            for (int i = 0; i < request.FieldCount && forwardedFor > 0; i++)
            {
                if (request.Fields[i].Kind == FieldKind.XForwardedFor)
                {
                    output.Write(request.Value(i));
                    output.Write(", "u8);
                }
            }

            output.Write(_clientIp.Span);
            output.Write("\r\n"u8);
        }

        if (forwarded.Proto)
        {
            output.Write(_https ? "X-Forwarded-Proto: https\r\n"u8 : "X-Forwarded-Proto: http\r\n"u8);
        }

        if (forwarded.Host && (host >= 0 || !authority.IsEmpty))
        {
            output.Write("X-Forwarded-Host: "u8);
            output.Write(hostValue);
            output.Write("\r\n"u8);
        }

        tracing?.WriteFields(ref output);
        output.Write("\r\n"u8);
        output.Commit();
    }

    /// <summary>
    /// Writes <paramref name="response"/>'s head, edited, to <paramref name="pipe"/>, then
    /// <paramref name="body"/> (what of the body is already here, or nothing); no flush.
    /// </summary>
    public static void WriteResponse(PipeWriter pipe, ResponseHead response, bool http11Client, bool keepAlive, in ReadOnlySequence<byte> body)
    {
        var raw = response.Raw.Span;
        bool addClose = !keepAlive;
        bool addKeepAlive = keepAlive && !http11Client;
        bool fixLength = NeedsContentLengthEdit(response);
        long size = raw.Length + body.Length + 32;
        var output = new HeadWriter(pipe, (int)Math.Min(size, MaxHeadSpan));
        if (!response.HasHopByHop && !addClose && !addKeepAlive && !fixLength)
        {
            output.Write(raw);
        }
        else
        {
            output.Write(raw[..response.FieldsStart]);
            for (int i = 0; i < response.FieldCount; i++)
            {
                ref var f = ref response.Fields[i];
                if (!f.Drop && !(fixLength && f.Kind == FieldKind.ContentLength))
                {
                    output.Write(raw.Slice(f.LineStart, f.LineLength));
                }
            }

            if (fixLength && !response.HasTransferEncoding)
            {
                WriteContentLength(ref output, response.ContentLength);
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

    /// <summary>
    /// The host of an absolute-form target (<c>http://host:port/path</c>: <c>host:port</c>,
    /// without user information), or empty for any other form.
    /// </summary>
    internal static ReadOnlySpan<byte> AbsoluteFormAuthority(ReadOnlySpan<byte> target)
    {
        if (target.IsEmpty || target[0] == (byte)'/' || target[0] == (byte)'*')
        {
            return default;
        }

        int scheme = target.IndexOf("://"u8);
        if (scheme < 0)
        {
            return default;
        }

        var authority = target[(scheme + 3)..];
        int end = authority.IndexOfAny((byte)'/', (byte)'?');
        if (end >= 0)
        {
            authority = authority[..end];
        }

        int at = authority.LastIndexOf((byte)'@');
        return at >= 0 ? authority[(at + 1)..] : authority;
    }

    // A response whose Content-Length must be written anew: beside Transfer-Encoding (dropped,
    // RFC 9112 section 6.3), given in several fields, or as a list ("5, 5").
    private static bool NeedsContentLengthEdit(ResponseHead response)
    {
        if (response.ContentLength < 0)
        {
            return false;
        }

        if (response.HasTransferEncoding)
        {
            return true;
        }

        int count = 0;
        for (int i = 0; i < response.FieldCount; i++)
        {
            if (response.Fields[i].Kind == FieldKind.ContentLength &&
                (++count > 1 || response.Value(i).ContainsAnyExceptInRange((byte)'0', (byte)'9')))
            {
                return true;
            }
        }

        return false;
    }

    private static void WriteContentLength(ref HeadWriter output, long length)
    {
        Span<byte> field = stackalloc byte[40];
        "Content-Length: "u8.CopyTo(field);
        Utf8Formatter.TryFormat(length, field[16..], out int digits);
        "\r\n"u8.CopyTo(field[(16 + digits)..]);
        output.Write(field[..(16 + digits + 2)]);
    }
}
