namespace PipeBalancer.Http1;

/// <summary>
/// Why a request was refused before it reached a backend. <see cref="Rejections"/> is the one
/// place that maps a reason to its status code; the connection is closed after every rejection.
/// </summary>
public enum RejectReason : byte
{
    /// <summary>Not rejected.</summary>
    None,

    /// <summary>The request line is not <c>method SP target SP version CRLF</c>.</summary>
    BadRequestLine,

    /// <summary>The method has a character outside the token set.</summary>
    InvalidMethod,

    /// <summary>The request target has a forbidden character, bad percent-encoding or form.</summary>
    InvalidTarget,

    /// <summary>The version is not of the form HTTP/d.d.</summary>
    InvalidVersion,

    /// <summary>A line ended with LF alone, or a CR stood alone.</summary>
    InvalidLineEnding,

    /// <summary>A header line begins with whitespace (obsolete line folding).</summary>
    ObsoleteLineFolding,

    /// <summary>Whitespace between a field name and its colon.</summary>
    WhitespaceBeforeColon,

    /// <summary>A field name is empty, lacks its colon, or has a non-token character.</summary>
    InvalidFieldName,

    /// <summary>A field value has a control character (NUL among them).</summary>
    InvalidFieldValue,

    /// <summary>HTTP/1.1 without Host, or more than one Host.</summary>
    InvalidHost,

    /// <summary>Both Content-Length and Transfer-Encoding: the classic smuggling vector.</summary>
    ContentLengthWithTransferEncoding,

    /// <summary>Content-Length is not a decimal number, or several differ.</summary>
    InvalidContentLength,

    /// <summary>Transfer-Encoding whose final coding is not chunked, or sent by HTTP/1.0.</summary>
    InvalidTransferEncoding,

    /// <summary>A chunk size line is not hex digits with optional extensions.</summary>
    InvalidChunkSize,

    /// <summary>Chunk data not followed by CRLF, or malformed trailers.</summary>
    InvalidChunkFraming,

    /// <summary>The method is not proxied (CONNECT).</summary>
    MethodNotAllowed,

    /// <summary>The request line is longer than the limit.</summary>
    RequestLineTooLong,

    /// <summary>The header section is larger than the limit.</summary>
    HeadersTooLarge,

    /// <summary>More header fields than the limit.</summary>
    TooManyHeaders,

    /// <summary>A well-formed version other than HTTP/1.0 and HTTP/1.1.</summary>
    UnsupportedVersion,

    /// <summary>The head did not arrive within the headers timeout.</summary>
    HeadersTimeout,

    /// <summary>The body is larger than <c>limits.maxBodyBytes</c>.</summary>
    BodyTooLarge,

    /// <summary>The connection closed in the middle of a request head.</summary>
    IncompleteHead,

    /// <summary>
    /// Host, or the authority of an absolute-form target, is empty or not
    /// <c>host [ ":" port ]</c> (RFC 9110 section 7.2, RFC 3986 section 3.2).
    /// </summary>
    InvalidAuthority,

    /// <summary>A backend's status line is not <c>HTTP/1.x SP 3DIGIT SP reason</c> (responses only).</summary>
    InvalidStatusLine,

    /// <summary>The client stopped sending its request body for <c>timeouts.clientBodyMs</c>.</summary>
    BodyTimeout,
}

/// <summary>Maps rejection reasons to status codes and ready-made responses.</summary>
internal static class Rejections
{
    private static readonly byte[][] Responses = BuildResponses();

    /// <summary>The status code sent for <paramref name="reason"/>.</summary>
    public static int StatusCode(RejectReason reason) => reason switch
    {
        RejectReason.MethodNotAllowed => 405,
        RejectReason.HeadersTimeout or RejectReason.BodyTimeout => 408,
        RejectReason.BodyTooLarge => 413,
        RejectReason.RequestLineTooLong => 414,
        RejectReason.HeadersTooLarge or RejectReason.TooManyHeaders => 431,
        RejectReason.UnsupportedVersion => 505,
        _ => 400,
    };

    /// <summary>The complete response for <paramref name="reason"/>: status line, short headers, plain-text body naming the reason.</summary>
    public static ReadOnlySpan<byte> Response(RejectReason reason) => Responses[(int)reason];

    private static byte[][] BuildResponses()
    {
        var values = Enum.GetValues<RejectReason>();
        var responses = new byte[values.Length][];
        foreach (var reason in values)
        {
            int status = StatusCode(reason);
            string body = $"{status} {ReasonPhrases.For(status)}: {Describe(reason)}\n";
            responses[(int)reason] = ErrorResponse.Build(status, body, extraHeaders: "Connection: close\r\n");
        }

        return responses;
    }

    /// <summary>A few words for the response body and the log line.</summary>
    public static string Describe(RejectReason reason) => reason switch
    {
        RejectReason.BadRequestLine => "malformed request line",
        RejectReason.InvalidMethod => "invalid method",
        RejectReason.InvalidTarget => "invalid request target",
        RejectReason.InvalidVersion => "invalid HTTP version",
        RejectReason.InvalidLineEnding => "lines must end with CRLF",
        RejectReason.ObsoleteLineFolding => "obsolete line folding",
        RejectReason.WhitespaceBeforeColon => "whitespace before colon in header field",
        RejectReason.InvalidFieldName => "invalid header field name",
        RejectReason.InvalidFieldValue => "invalid character in header field value",
        RejectReason.InvalidHost => "missing or repeated Host",
        RejectReason.ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
        RejectReason.InvalidContentLength => "invalid Content-Length",
        RejectReason.InvalidTransferEncoding => "unsupported Transfer-Encoding",
        RejectReason.InvalidChunkSize => "invalid chunk size",
        RejectReason.InvalidChunkFraming => "invalid chunked framing",
        RejectReason.MethodNotAllowed => "method not allowed",
        RejectReason.RequestLineTooLong => "request line too long",
        RejectReason.HeadersTooLarge => "header section too large",
        RejectReason.TooManyHeaders => "too many header fields",
        RejectReason.UnsupportedVersion => "only HTTP/1.0 and HTTP/1.1 are supported",
        RejectReason.HeadersTimeout => "request head not received in time",
        RejectReason.BodyTooLarge => "request body too large",
        RejectReason.IncompleteHead => "connection closed inside the request head",
        RejectReason.InvalidAuthority => "invalid Host or target authority",
        RejectReason.InvalidStatusLine => "malformed status line",
        RejectReason.BodyTimeout => "request body not received in time",
        _ => "ok",
    };
}

/// <summary>Reason phrases for the statuses the balancer itself sends.</summary>
internal static class ReasonPhrases
{
    /// <summary>The RFC 9110 reason phrase for <paramref name="status"/>.</summary>
    public static string For(int status) => status switch
    {
        400 => "Bad Request",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
}

/// <summary>Builds the short plain-text responses the balancer sends on its own behalf.</summary>
internal static class ErrorResponse
{
    /// <summary>The bytes of a complete HTTP/1.1 response with a text/plain body.</summary>
    public static byte[] Build(int status, string body, string extraHeaders = "") =>
        System.Text.Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {ReasonPhrases.For(status)}\r\nContent-Type: text/plain; charset=utf-8\r\n" +
            $"Content-Length: {body.Length}\r\n{extraHeaders}\r\n{body}");
}
