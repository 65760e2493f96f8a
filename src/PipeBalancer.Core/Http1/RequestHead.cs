using System.Runtime.CompilerServices;

namespace PipeBalancer.Http1;

/// <summary>Request methods the forwarder treats specially; the rest are <see cref="Other"/>.</summary>
internal enum RequestMethod : byte
{
    /// <summary>Any other token.</summary>
    Other,

    /// <summary>GET.</summary>
    Get,

    /// <summary>HEAD: the response has no body whatever its framing says.</summary>
    Head,

    /// <summary>POST.</summary>
    Post,

    /// <summary>PUT.</summary>
    Put,

    /// <summary>DELETE.</summary>
    Delete,

    /// <summary>OPTIONS.</summary>
    Options,

    /// <summary>TRACE.</summary>
    Trace,

    /// <summary>PATCH.</summary>
    Patch,

    /// <summary>CONNECT: refused, a reverse proxy does not open tunnels on request.</summary>
    Connect,
}

/// <summary>Header fields the balancer reads or edits; the rest pass through untouched.</summary>
internal enum FieldKind : byte
{
    /// <summary>Passed through.</summary>
    Other,

    /// <summary>Host.</summary>
    Host,

    /// <summary>Content-Length.</summary>
    ContentLength,

    /// <summary>Transfer-Encoding.</summary>
    TransferEncoding,

    /// <summary>Connection (hop-by-hop).</summary>
    Connection,

    /// <summary>Keep-Alive (hop-by-hop).</summary>
    KeepAlive,

    /// <summary>Proxy-Connection (hop-by-hop, non-standard).</summary>
    ProxyConnection,

    /// <summary>TE (hop-by-hop).</summary>
    TE,

    /// <summary>Upgrade (hop-by-hop unless upgrading).</summary>
    Upgrade,

    /// <summary>Expect.</summary>
    Expect,

    /// <summary>X-Forwarded-For: appended to.</summary>
    XForwardedFor,

    /// <summary>X-Forwarded-Proto: replaced.</summary>
    XForwardedProto,

    /// <summary>X-Forwarded-Host: replaced.</summary>
    XForwardedHost,

    /// <summary>Cookie.</summary>
    Cookie,
}

/// <summary>One header field: offsets into <see cref="MessageHead.Raw"/>.</summary>
internal struct HeaderField
{
    /// <summary>Start of the name.</summary>
    public int NameStart;

    /// <summary>Length of the name.</summary>
    public int NameLength;

    /// <summary>Start of the value, leading whitespace skipped.</summary>
    public int ValueStart;

    /// <summary>Length of the value, trailing whitespace cut.</summary>
    public int ValueLength;

    /// <summary>Start of the whole line.</summary>
    public int LineStart;

    /// <summary>Length of the line including its CRLF.</summary>
    public int LineLength;

    /// <summary>What the field is.</summary>
    public FieldKind Kind;

    /// <summary>Whether the field is hop-by-hop and must not be forwarded.</summary>
    public bool Drop;
}

/// <summary>
/// What request and response heads share: the raw bytes, the fields as offsets into them,
/// and the framing. One instance per connection is reused for every message on it.
/// </summary>
internal abstract class MessageHead
{
    // Room for this many fields from the start; the table grows (doubling, up to MaxFields) only
    // on a connection that sends more, so an idle connection holds a small table, not the limit.
    private const int InitialFields = 16;

    private protected MessageHead(int maxFields)
    {
        MaxFields = maxFields;
        Fields = new HeaderField[Math.Min(maxFields, InitialFields)];
    }

    /// <summary>The head's bytes, from the start line to the blank line, inclusive.</summary>
    public ReadOnlyMemory<byte> Raw { get; internal set; }

    /// <summary>The fields; the first <see cref="FieldCount"/> are set.</summary>
    internal HeaderField[] Fields { get; private set; }

    /// <summary>The most fields the head can hold.</summary>
    public int MaxFields { get; }

    /// <summary>Number of fields.</summary>
    public int FieldCount { get; internal set; }

    /// <summary>Whether the version is HTTP/1.1 (else HTTP/1.0).</summary>
    public bool IsHttp11 { get; internal set; }

    /// <summary>Content-Length, or -1 when absent.</summary>
    public long ContentLength { get; internal set; }

    /// <summary>
    /// How many Content-Length values were received, counting every field and every item of a
    /// list ("5, 5" is two). More than one means the value must be written once when forwarding.
    /// </summary>
    public int ContentLengthValues { get; internal set; }

    /// <summary>Whether the body is chunked (final transfer coding).</summary>
    public bool Chunked { get; internal set; }

    /// <summary>Whether Transfer-Encoding is present at all.</summary>
    public bool HasTransferEncoding { get; internal set; }

    /// <summary>Connection: close.</summary>
    public bool ConnectionClose { get; internal set; }

    /// <summary>Connection: keep-alive.</summary>
    public bool ConnectionKeepAlive { get; internal set; }

    /// <summary>Connection: upgrade.</summary>
    public bool ConnectionUpgrade { get; internal set; }

    /// <summary>Whether any field is hop-by-hop (must be dropped when forwarding).</summary>
    public bool HasHopByHop { get; internal set; }

    /// <summary>Offset of the first header line (right after the start line).</summary>
    public int FieldsStart { get; internal set; }

    /// <summary>The name bytes of field <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Name(int index) => Raw.Span.Slice(Fields[index].NameStart, Fields[index].NameLength);

    /// <summary>The value bytes of field <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Value(int index) => Raw.Span.Slice(Fields[index].ValueStart, Fields[index].ValueLength);

    /// <summary>Index of the first field named <paramref name="name"/> (case-insensitive), or -1.</summary>
    public int Find(ReadOnlySpan<byte> name)
    {
        var raw = Raw.Span;
        for (int i = 0; i < FieldCount; i++)
        {
            ref var f = ref Fields[i];
            if (f.NameLength == name.Length && System.Text.Ascii.EqualsIgnoreCase(raw.Slice(f.NameStart, f.NameLength), name))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Index of the first field of <paramref name="kind"/>, or -1.</summary>
    public int Find(FieldKind kind)
    {
        for (int i = 0; i < FieldCount; i++)
        {
            if (Fields[i].Kind == kind)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Makes room for one more field if the limit allows (the table doubles, keeping the fields
    /// set so far); false when <see cref="MaxFields"/> are set.
    /// </summary>
    internal bool TryGrowFields()
    {
        if (Fields.Length >= MaxFields)
        {
            return false;
        }

        var grown = new HeaderField[Math.Min(MaxFields, Fields.Length * 2)];
        Fields.AsSpan(0, FieldCount).CopyTo(grown);
        Fields = grown;
        return true;
    }

    internal virtual void Reset()
    {
        Raw = default;
        FieldCount = 0;
        IsHttp11 = false;
        ContentLength = -1;
        ContentLengthValues = 0;
        Chunked = false;
        HasTransferEncoding = false;
        ConnectionClose = false;
        ConnectionKeepAlive = false;
        ConnectionUpgrade = false;
        HasHopByHop = false;
        FieldsStart = 0;
    }
}

/// <summary>A parsed request head (see <see cref="RequestHeadParser"/>).</summary>
internal sealed class RequestHead : MessageHead
{
    /// <summary>Creates a head with room for <paramref name="maxFields"/> fields.</summary>
    public RequestHead(int maxFields = 100)
        : base(maxFields)
    {
    }

    /// <summary>The method.</summary>
    public RequestMethod Method { get; internal set; }

    /// <summary>Offset of the method in <see cref="MessageHead.Raw"/>.</summary>
    public int MethodLength { get; internal set; }

    /// <summary>Offset of the request target.</summary>
    public int TargetStart { get; internal set; }

    /// <summary>Length of the request target.</summary>
    public int TargetLength { get; internal set; }

    /// <summary>Length of the request line without CRLF.</summary>
    public int RequestLineLength { get; internal set; }

    /// <summary>Expect: 100-continue.</summary>
    public bool Expect100Continue { get; internal set; }

    /// <summary>The request target bytes.</summary>
    public ReadOnlySpan<byte> Target => Raw.Span.Slice(TargetStart, TargetLength);

    /// <summary>Whether the request asks to switch protocols (Upgrade with Connection: upgrade).</summary>
    public bool IsUpgrade => ConnectionUpgrade && Find(FieldKind.Upgrade) >= 0;

    /// <summary>Whether a failed attempt may be repeated (RFC 9110 section 9.2.2).</summary>
    public bool IsIdempotent => Method is RequestMethod.Get or RequestMethod.Head or RequestMethod.Put or RequestMethod.Delete or RequestMethod.Options or RequestMethod.Trace;

    /// <summary>Whether the request carries a body.</summary>
    public bool HasBody => Chunked || ContentLength > 0;

    /// <summary>Whether the client connection stays open after this exchange.</summary>
    public bool KeepAlive => IsHttp11 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;

    internal override void Reset()
    {
        base.Reset();
        Method = RequestMethod.Other;
        MethodLength = 0;
        TargetStart = 0;
        TargetLength = 0;
        RequestLineLength = 0;
        Expect100Continue = false;
    }
}

/// <summary>A parsed response head (see <see cref="ResponseHeadParser"/>).</summary>
internal sealed class ResponseHead : MessageHead
{
    /// <summary>Creates a head with room for <paramref name="maxFields"/> fields.</summary>
    public ResponseHead(int maxFields = 100)
        : base(maxFields)
    {
    }

    /// <summary>The status code.</summary>
    public int Status { get; internal set; }

    /// <summary>
    /// Why <see cref="ResponseHeadParser.TryParse"/> refused the head, or <see cref="RejectReason.None"/>.
    /// The client gets a 502 whatever the reason; the reason is for the log.
    /// </summary>
    public RejectReason Error { get; internal set; }

    /// <summary>
    /// Whether the head has both Transfer-Encoding and Content-Length. Transfer-Encoding decides
    /// the framing; the Content-Length fields must not be forwarded (RFC 9112 section 6.3).
    /// </summary>
    public bool HasContentLengthAndTransferEncoding => HasTransferEncoding && ContentLengthValues > 0;

    internal override void Reset()
    {
        base.Reset();
        Status = 0;
        Error = RejectReason.None;
    }
}
