using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Fuzz;

/// <summary>
/// The invariants of <see cref="ResponseHeadParser.TryParse"/> on any input: no exception, the
/// pipe contract, the same verdict however the bytes are split or arrive, and an accepted head
/// that re-serialises to what was parsed.
/// </summary>
internal static class ResponseHeadChecks
{
    /// <summary>Few fields, so the fuzzer reaches the field limit.</summary>
    public const int MaxFields = 8;

    /// <summary>Inputs are cut to this length to keep the prefix walk quick.</summary>
    public const int MaxInputBytes = 2048;

    public static void Check(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInputBytes)
        {
            input = input[..MaxInputBytes];
        }

        byte[] bytes = input.ToArray();
        var head = new ResponseHead(MaxFields);
        string whole = Parse(bytes, head, out var status, out int consumed);
        InvariantViolation.Require(status == ParseStatus.Complete ? consumed > 0 && consumed <= bytes.Length : consumed == 0,
            $"consumed {consumed} of {bytes.Length} with {status}");

        var split = Segments.View(Segments.OneBytePerSegment(bytes), ResponseHeadParser.MaxHeadBytes);
        InvariantViolation.Same(whole, Parse(split, new ResponseHead(MaxFields), out _, out _), "one byte per segment");

        var prefixHead = new ResponseHead(MaxFields);
        InvariantViolation.SameVerdictOnPrefixes(bytes, whole, prefix => (Parse(prefix, prefixHead, out var prefixStatus, out _), prefixStatus));

        if (status == ParseStatus.Complete)
        {
            byte[] again = Serialise(head);
            var againHead = new ResponseHead(MaxFields);
            string reparsed = Parse(again, againHead, out var againStatus, out int againConsumed);
            InvariantViolation.Require(againStatus == ParseStatus.Complete && againConsumed == again.Length,
                $"re-serialised head: {againStatus}, consumed {againConsumed} of {again.Length}: {reparsed}");
            InvariantViolation.Same(Describe(head), Describe(againHead), "re-serialised head");
        }
    }

    /// <summary>Parses and describes the verdict and everything the head exposes.</summary>
    public static string Parse(ReadOnlyMemory<byte> data, ResponseHead head, out ParseStatus status, out int consumed)
    {
        status = ResponseHeadParser.TryParse(data, head, MaxFields, out consumed);
        return status switch
        {
            ParseStatus.Complete when head.Error == RejectReason.None => $"Complete {consumed}: {Describe(head)}",
            ParseStatus.Error when head.Error != RejectReason.None => $"Error {head.Error}",
            ParseStatus.Incomplete when head.Error == RejectReason.None => "Incomplete",
            _ => throw new InvariantViolation($"{status} with error {head.Error}"),
        };
    }

    /// <summary>Everything a parsed head exposes, as text, with the framing for GET and HEAD.</summary>
    public static string Describe(ResponseHead head)
    {
        var text = new StringBuilder();
        text.Append(head.Status).Append(head.IsHttp11 ? " HTTP/1.1" : " HTTP/1.0")
            .Append(" cl=").Append(head.ContentLength).Append(" cl-values=").Append(head.ContentLengthValues)
            .Append(" chunked=").Append(head.Chunked).Append(" te=").Append(head.HasTransferEncoding)
            .Append(" close=").Append(head.ConnectionClose).Append(" keep-alive=").Append(head.ConnectionKeepAlive)
            .Append(" upgrade=").Append(head.ConnectionUpgrade).Append(" hop=").Append(head.HasHopByHop)
            .Append(" get=").Append(ResponseHeadParser.Framing(head, RequestMethod.Get))
            .Append(" head=").Append(ResponseHeadParser.Framing(head, RequestMethod.Head))
            .Append(" fields=").Append(head.FieldCount);
        for (int i = 0; i < head.FieldCount; i++)
        {
            text.Append(" [").Append(Encoding.Latin1.GetString(head.Name(i))).Append(": ").Append(Encoding.Latin1.GetString(head.Value(i))).Append(']');
        }

        return text.ToString();
    }

    /// <summary>The head written out again: the status line as received, one line per field, blank line.</summary>
    public static byte[] Serialise(ResponseHead head)
    {
        var output = new List<byte>(head.Raw.Length);
        output.AddRange(head.Raw.Span[..head.FieldsStart]);
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
