using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Fuzz;

/// <summary>
/// The invariants of <see cref="RequestHeadParser.TryParse"/> on any input: no exception, the
/// pipe contract, the same verdict however the bytes are split or arrive, a decision within
/// the largest head, and an accepted head that re-serialises to what was parsed.
/// </summary>
internal static class RequestHeadChecks
{
    /// <summary>Limits small enough for short fuzz inputs to reach every one of them.</summary>
    public static readonly HttpLimits Limits = new() { MaxRequestLineBytes = 96, MaxHeaderBytes = 384, MaxHeaderCount = 8 };

    /// <summary>Inputs are cut to this length: the parser decides within <see cref="HttpLimits.MaxHeadBytes"/>.</summary>
    public const int MaxInputBytes = 2048;

    public static void Check(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInputBytes)
        {
            input = input[..MaxInputBytes];
        }

        byte[] bytes = input.ToArray();
        var head = new RequestHead(Limits.MaxHeaderCount);
        string whole = Parse(bytes, head, out var status, out int consumed);

        // Pipe contract: nothing is consumed before a whole head, and never past the buffer.
        InvariantViolation.Require(status == ParseStatus.Complete ? consumed > 0 && consumed <= bytes.Length : consumed == 0,
            $"consumed {consumed} of {bytes.Length} with {status}");

        // The connection never waits past the largest head for a verdict (its buffer would grow unbounded).
        if (bytes.Length >= Limits.MaxHeadBytes)
        {
            InvariantViolation.Require(status != ParseStatus.Incomplete, $"Incomplete after {bytes.Length} bytes, limit {Limits.MaxHeadBytes}");
        }

        // One byte per segment, through the view the connection builds: the same verdict.
        var split = Segments.View(Segments.OneBytePerSegment(bytes), Limits.MaxHeadBytes);
        InvariantViolation.Same(whole, Parse(split, new RequestHead(Limits.MaxHeaderCount), out _, out _), "one byte per segment");

        // Growing prefixes, as reads arrive: Incomplete until the verdict, then the same verdict.
        var prefixHead = new RequestHead(Limits.MaxHeaderCount);
        InvariantViolation.SameVerdictOnPrefixes(bytes, whole, prefix => (Parse(prefix, prefixHead, out var prefixStatus, out _), prefixStatus));

        if (status == ParseStatus.Complete)
        {
            // Re-serialise what was parsed; it parses to the same head, whole.
            byte[] again = Serialise(head);
            var againHead = new RequestHead(Limits.MaxHeaderCount);
            string reparsed = Parse(again, againHead, out var againStatus, out int againConsumed);
            InvariantViolation.Require(againStatus == ParseStatus.Complete && againConsumed == again.Length,
                $"re-serialised head: {againStatus}, consumed {againConsumed} of {again.Length}: {reparsed}");
            InvariantViolation.Same(Describe(head), Describe(againHead), "re-serialised head");
        }
    }

    /// <summary>Parses and describes the verdict and everything the head exposes.</summary>
    public static string Parse(ReadOnlyMemory<byte> data, RequestHead head, out ParseStatus status, out int consumed)
    {
        status = RequestHeadParser.TryParse(data, head, Limits, out consumed, out var reason);
        return status switch
        {
            ParseStatus.Complete when reason == RejectReason.None => $"Complete {consumed}: {Describe(head)}",
            ParseStatus.Error when reason != RejectReason.None => $"Error {reason}",
            ParseStatus.Incomplete when reason == RejectReason.None => "Incomplete",
            _ => throw new InvariantViolation($"{status} with reason {reason}"),
        };
    }

    /// <summary>Everything a parsed head exposes, as text.</summary>
    public static string Describe(RequestHead head)
    {
        var text = new StringBuilder();
        var raw = head.Raw.Span;
        text.Append(Encoding.Latin1.GetString(raw[..head.MethodLength])).Append(' ').Append(head.Method)
            .Append(' ').Append(Encoding.Latin1.GetString(head.Target)).Append(head.IsHttp11 ? " HTTP/1.1" : " HTTP/1.0")
            .Append(" cl=").Append(head.ContentLength).Append(" cl-values=").Append(head.ContentLengthValues).Append(" chunked=").Append(head.Chunked).Append(" te=").Append(head.HasTransferEncoding)
            .Append(" close=").Append(head.ConnectionClose).Append(" keep-alive=").Append(head.ConnectionKeepAlive)
            .Append(" upgrade=").Append(head.ConnectionUpgrade).Append('/').Append(head.IsUpgrade)
            .Append(" hop=").Append(head.HasHopByHop).Append(" expect=").Append(head.Expect100Continue)
            .Append(" body=").Append(head.HasBody).Append(" fields=").Append(head.FieldCount);
        for (int i = 0; i < head.FieldCount; i++)
        {
            text.Append(" [").Append(Encoding.Latin1.GetString(head.Name(i))).Append(": ").Append(Encoding.Latin1.GetString(head.Value(i))).Append(']');
        }

        return text.ToString();
    }

    /// <summary>The head written out again: request line, one line per field, blank line.</summary>
    public static byte[] Serialise(RequestHead head)
    {
        var output = new List<byte>(head.Raw.Length);
        var raw = head.Raw.Span;
        output.AddRange(raw[..head.MethodLength]);
        output.Add((byte)' ');
        output.AddRange(head.Target);
        output.AddRange(head.IsHttp11 ? " HTTP/1.1\r\n"u8 : " HTTP/1.0\r\n"u8);
        for (int i = 0; i < head.FieldCount; i++)
        {
            output.AddRange(head.Name(i));
            output.AddRange(": "u8);
            output.AddRange(head.Value(i));
            output.AddRange("\r\n"u8);
        }

        output.AddRange("\r\n"u8);
        return [.. output];
    }
}
