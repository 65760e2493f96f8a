using System.Text;

namespace PipeBalancer.Fuzz;

/// <summary>
/// Well-formed heads and bodies: the fuzzer's seeds beside the malformed corpus, and the
/// starting points of the property tests' mutations.
/// </summary>
internal static class ValidMessages
{
    public static IReadOnlyList<byte[]> RequestHeads { get; } = Ascii(
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /search?q=a%20b&x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\nCookie: session=abc\r\n\r\n",
        "\r\nPOST /api/items HTTP/1.1\r\nHost: api.example\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "PUT /u HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET http://example.com/path?x HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n",
        "GET /chat HTTP/1.1\r\nHost: 10.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: example.com\r\nKeep-Alive: timeout=5\r\nProxy-Connection: close\r\n\r\n",
        "GET /old HTTP/1.0\r\nConnection: keep-alive\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0, 0\r\nConnection: close\r\n\r\n",
        "HEAD /h HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nX-Empty:\r\n\r\n");

    public static IReadOnlyList<byte[]> ResponseHeads { get; } = Ascii(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 500 \r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\nContent-Length: 0\r\n\r\n");

    public static IReadOnlyList<byte[]> ChunkedBodies { get; } = Ascii(
        "0\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "5;name=value\r\nhello\r\n0\r\n\r\n",
        "5 ;ext\r\nhello\r\n0\r\n\r\n",
        "A\r\n0123456789\r\n0\r\nTrailer: x\r\nAnother: y\r\n\r\n",
        "000000000000000000000000000000000e3\r\n" + new string('x', 0xe3) + "\r\n0\r\n\r\n",
        "3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n",
        "ffffffffffffffff\r\nabc",
        "10000000000000000\r\n",
        "5\r\nhello\n0\r\n\r\n");

    private static byte[][] Ascii(params string[] texts) => [.. texts.Select(Encoding.Latin1.GetBytes)];
}
