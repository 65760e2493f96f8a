using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Tests.Http1;

/// <summary>One request a strict HTTP/1.1 server must refuse, and how.</summary>
public sealed record MalformedRequest(string Name, byte[] Bytes, int Status, RejectReason Reason)
{
    public override string ToString() => Name;
}

/// <summary>
/// The shared corpus of malformed and smuggling requests: parser unit tests check the reason,
/// end-to-end tests check the status, that the backend sees nothing, and that the connection
/// closes. Each entry names the rule it breaks.
/// </summary>
public static class MalformedRequests
{
    public static IEnumerable<MalformedRequest> All()
    {
        // Line endings and control characters.
        yield return Case("bare CR in request line", "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidLineEnding);
        yield return Case("bare LF ends request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400, RejectReason.InvalidLineEnding);
        yield return Case("bare LF ends header line", "GET / HTTP/1.1\r\nHost: x\n\r\n", 400, RejectReason.InvalidLineEnding);
        yield return Case("bare CR in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, RejectReason.InvalidLineEnding);
        yield return Case("NUL in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400, RejectReason.InvalidFieldValue);
        yield return Case("NUL in request target", "GET /a\0 HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("DEL in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u007f-\r\n\r\n", 400, RejectReason.InvalidFieldValue);
        yield return Case("vertical tab in header value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\vb\r\n\r\n", 400, RejectReason.InvalidFieldValue);

        // Header field syntax.
        yield return Case("obs-fold continuation line", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, RejectReason.ObsoleteLineFolding);
        yield return Case("obs-fold with tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 400, RejectReason.ObsoleteLineFolding);
        yield return Case("space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400, RejectReason.WhitespaceBeforeColon);
        yield return Case("tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400, RejectReason.WhitespaceBeforeColon);
        yield return Case("header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, RejectReason.InvalidFieldName);
        yield return Case("empty field name", "GET / HTTP/1.1\r\nHost: x\r\n: value\r\n\r\n", 400, RejectReason.InvalidFieldName);
        yield return Case("invalid char in field name", "GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n", 400, RejectReason.InvalidFieldName);
        yield return Case("space inside field name", "GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n", 400, RejectReason.InvalidFieldName);
        yield return Case("non-ASCII in field name", "GET / HTTP/1.1\r\nHost: x\r\nX-\u00e9: 1\r\n\r\n", 400, RejectReason.InvalidFieldName);

        // Request line.
        yield return Case("invalid char in method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidMethod);
        yield return Case("missing target", "GET HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.BadRequestLine);
        yield return Case("double space in request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.BadRequestLine);
        yield return Case("trailing space after version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, RejectReason.BadRequestLine);
        yield return Case("leading space in request line", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.BadRequestLine);
        yield return Case("space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.BadRequestLine);
        yield return Case("fragment in target", "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("non-ASCII in target", "GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("bad percent escape", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("truncated percent escape", "GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("target without slash", "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("asterisk target for GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("authority-form for GET", "GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidTarget);
        yield return Case("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405, RejectReason.MethodNotAllowed);
        yield return Case("lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidVersion);
        yield return Case("garbage version", "GET / HTTP/one\r\nHost: x\r\n\r\n", 400, RejectReason.InvalidVersion);
        yield return Case("HTTP/2.0 version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, RejectReason.UnsupportedVersion);
        yield return Case("HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505, RejectReason.UnsupportedVersion);
        yield return Case("HTTP/1.2 version", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, RejectReason.UnsupportedVersion);

        // Host.
        yield return Case("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, RejectReason.InvalidHost);
        yield return Case("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, RejectReason.InvalidHost);
        yield return Case("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("blank Host", "GET / HTTP/1.1\r\nHost:  \t \r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("empty Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with path and userinfo", "GET / HTTP/1.1\r\nHost: good.example/x@evil\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with slash", "GET / HTTP/1.1\r\nHost: good.example/\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@good.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with query", "GET / HTTP/1.1\r\nHost: good.example?x=1\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with fragment", "GET / HTTP/1.1\r\nHost: good.example#x\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with space", "GET / HTTP/1.1\r\nHost: good example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with backslash", "GET / HTTP/1.1\r\nHost: good.example\\evil\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with non-ASCII", "GET / HTTP/1.1\r\nHost: caf\u00e9.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with bad percent escape", "GET / HTTP/1.1\r\nHost: good%zz.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with non-numeric port", "GET / HTTP/1.1\r\nHost: good.example:80a\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with port over 65535", "GET / HTTP/1.1\r\nHost: good.example:65536\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with two ports", "GET / HTTP/1.1\r\nHost: good.example:80:81\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with malformed IPv6 literal", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with unclosed IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("Host with text after IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with empty Host", "GET http://good.example/path HTTP/1.1\r\nHost:\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with blank Host", "GET http://good.example/path HTTP/1.1\r\nHost:   \r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with empty authority", "GET http:///path HTTP/1.1\r\nHost: good.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with empty authority and query", "GET http://?x=1 HTTP/1.1\r\nHost: good.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with userinfo", "GET http://user@good.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n", 400, RejectReason.InvalidAuthority);
        yield return Case("absolute-form with non-numeric port", "GET https://good.example:44x/ HTTP/1.1\r\nHost: good.example\r\n\r\n", 400, RejectReason.InvalidAuthority);

        // Framing and smuggling.
        yield return Case("Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, RejectReason.ContentLengthWithTransferEncoding);
        yield return Case("Transfer-Encoding and Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, RejectReason.ContentLengthWithTransferEncoding);
        yield return Case("differing Content-Length fields", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, RejectReason.InvalidContentLength);
        yield return Case("differing Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!", 400, RejectReason.InvalidContentLength);
        yield return Case("negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, RejectReason.InvalidContentLength);
        yield return Case("plus-signed Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400, RejectReason.InvalidContentLength);
        yield return Case("hex Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello", 400, RejectReason.InvalidContentLength);
        yield return Case("empty Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, RejectReason.InvalidContentLength);
        yield return Case("overflowing Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, RejectReason.InvalidContentLength);
        yield return Case("Transfer-Encoding gzip only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, RejectReason.InvalidTransferEncoding);
        yield return Case("chunked not last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, RejectReason.InvalidTransferEncoding);
        yield return Case("chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, RejectReason.InvalidTransferEncoding);
        yield return Case("obfuscated chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, RejectReason.InvalidTransferEncoding);
        yield return Case("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, RejectReason.InvalidTransferEncoding);
        yield return Case("chunk size not hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkSize);
        yield return Case("empty chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkSize);
        yield return Case("negative chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkSize);
        yield return Case("chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkSize);
        yield return Case("chunk data longer than size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkFraming);
        yield return Case("chunk size ended by bare LF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400, RejectReason.InvalidChunkSize);
        yield return Case("chunk data ended by bare LF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400, RejectReason.InvalidChunkFraming);

        // Sizes.
        yield return Case("8 KB of empty lines before the request line", string.Concat(Enumerable.Repeat("\r\n", 4200)) + "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 414, RejectReason.RequestLineTooLong);
        yield return Case("request line over 8 KB", "GET /" + new string('a', 8300) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, RejectReason.RequestLineTooLong);
        yield return Case("header section over 32 KB", "GET / HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"X-Pad-{i}: {new string('b', 900)}\r\n")) + "\r\n", 431, RejectReason.HeadersTooLarge);
        yield return Case("one header over 32 KB", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('c', 33 * 1024) + "\r\n\r\n", 431, RejectReason.HeadersTooLarge);
        yield return Case("101 header fields", "GET / HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"X-F{i}: 1\r\n")) + "\r\n", 431, RejectReason.TooManyHeaders);
    }

    private static MalformedRequest Case(string name, string text, int status, RejectReason reason) =>
        new(name, Encoding.Latin1.GetBytes(NonAsciiAsUtf8(text)), status, reason);

    // Non-ASCII characters in the cases stand for their UTF-8 bytes, as a client would send them.
    private static string NonAsciiAsUtf8(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));
}
