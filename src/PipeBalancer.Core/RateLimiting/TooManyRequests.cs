using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// The balancer's own 429 answer to a request over its limit (RFC 6585 section 4), with
/// <c>Retry-After</c> in seconds until the key has a token again. Written into the client pipe
/// from constant pieces and the formatted number: nothing allocated.
/// </summary>
internal static class TooManyRequests
{
    private const string Body = "429 Too Many Requests: rate limit reached\n";

    private static readonly byte[] Head = System.Text.Encoding.ASCII.GetBytes(
        $"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Body.Length}\r\nRetry-After: ");

    private static readonly byte[] KeepAliveTail = System.Text.Encoding.ASCII.GetBytes("\r\n\r\n" + Body);

    private static readonly byte[] CloseTail = System.Text.Encoding.ASCII.GetBytes("\r\nConnection: close\r\n\r\n" + Body);

    /// <summary>Writes the response; <paramref name="close"/> adds <c>Connection: close</c>.</summary>
    public static void Write(PipeWriter writer, int retryAfterSeconds, bool close)
    {
        writer.Write(Head);
        var span = writer.GetSpan(11);
        Utf8Formatter.TryFormat(retryAfterSeconds, span, out int written);
        writer.Advance(written);
        writer.Write(close ? CloseTail : KeepAliveTail);
    }
}
