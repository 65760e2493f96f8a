namespace PipeBalancer.Http1;

/// <summary>How a response body is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyFraming : byte
{
    /// <summary>No body: HEAD, 1xx, 204, 304, or Content-Length: 0.</summary>
    None,

    /// <summary>Exactly Content-Length bytes.</summary>
    ContentLength,

    /// <summary>Chunked transfer coding.</summary>
    Chunked,

    /// <summary>Until the backend closes the connection.</summary>
    CloseDelimited,
}

/// <summary>Parses a backend's response head. A malformed one becomes a 502 for the client.</summary>
internal static class ResponseHeadParser
{
    /// <summary>Largest response head accepted from a backend.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    /// <summary>
    /// Parses the head at the start of <paramref name="data"/>. On <see cref="ParseStatus.Error"/>,
    /// <see cref="ResponseHead.Error"/> says why.
    /// </summary>
    public static ParseStatus TryParse(ReadOnlyMemory<byte> data, ResponseHead head, int maxFields, out int consumed)
    {
        head.Reset();
        consumed = 0;
        var span = data.Span;
        head.Raw = data;
        int lf = span.IndexOf((byte)'\n');
        if (lf < 0)
        {
            return span.Length > MaxHeadBytes ? Fail(head, RejectReason.HeadersTooLarge) : ParseStatus.Incomplete;
        }

        // The status line has the same bound with its LF as without it, so the verdict does not
        // depend on where a read ends.
        if (lf > MaxHeadBytes)
        {
            return Fail(head, RejectReason.HeadersTooLarge);
        }

        // status-line = HTTP-version SP status-code SP [ reason-phrase ]. A line that ends right
        // after the code, without the SP, is taken as an empty reason, as nginx and HAProxy take
        // it: servers that leave the reason out often leave its SP out too.
        var line = span[..lf];
        if (line.Length < 13 || line[^1] != (byte)'\r' || !line.StartsWith("HTTP/1."u8) ||
            (line[7] != (byte)'1' && line[7] != (byte)'0') || line[8] != (byte)' ' || (line.Length > 13 && line[12] != (byte)' ') ||
            !char.IsAsciiDigit((char)line[9]) || !char.IsAsciiDigit((char)line[10]) || !char.IsAsciiDigit((char)line[11]))
        {
            return Fail(head, RejectReason.InvalidStatusLine);
        }

        head.IsHttp11 = line[7] == (byte)'1';
        head.Status = ((line[9] - '0') * 100) + ((line[10] - '0') * 10) + (line[11] - '0');
        if (head.Status < 100)
        {
            return Fail(head, RejectReason.InvalidStatusLine);
        }

        head.FieldsStart = lf + 1;
        var status = HeadParser.ParseFields(span, lf + 1, head, MaxHeadBytes, maxFields, out int end, out var reason);
        if (status != ParseStatus.Complete)
        {
            return status == ParseStatus.Error ? Fail(head, reason) : status;
        }

        head.Raw = data[..end];
        reason = CheckFraming(head);
        if (reason != RejectReason.None)
        {
            return Fail(head, reason);
        }

        consumed = end;
        return ParseStatus.Complete;
    }

    // RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length, so a chunked response
    // that also has Content-Length is framed by its chunks (the forwarder drops Content-Length).
    // Where the two cannot be reconciled, the head is refused, as nginx does for any response
    // with both: a Content-Length that is not a number or whose copies differ, Content-Length
    // beside codings that do not end in chunked (the body would run to the close while
    // Content-Length says otherwise), and HTTP/1.0 with Transfer-Encoding and Content-Length
    // (RFC 9112 section 6.1: faulty framing). Transfer-Encoding alone without chunked last is a
    // body that runs to the close.
    private static RejectReason CheckFraming(ResponseHead head)
    {
        HeadParser.ReadFraming(head, out bool badContentLength);
        if (head.HasContentLengthAndTransferEncoding && (!head.Chunked || !head.IsHttp11))
        {
            return RejectReason.ContentLengthWithTransferEncoding;
        }

        return badContentLength ? RejectReason.InvalidContentLength : RejectReason.None;
    }

    private static ParseStatus Fail(ResponseHead head, RejectReason reason)
    {
        head.Error = reason;
        return ParseStatus.Error;
    }

    /// <summary>The body framing of <paramref name="head"/> as the answer to a request with <paramref name="method"/>.</summary>
    public static BodyFraming Framing(ResponseHead head, RequestMethod method)
    {
        if (method == RequestMethod.Head || head.Status < 200 || head.Status is 204 or 304)
        {
            return BodyFraming.None;
        }

        if (head.HasTransferEncoding)
        {
            // Transfer-Encoding overrides Content-Length; without chunked last, the body runs to
            // the close (RFC 9112 section 6.3, rules 3 and 4).
            return head.Chunked ? BodyFraming.Chunked : BodyFraming.CloseDelimited;
        }

        return head.ContentLength switch
        {
            0 => BodyFraming.None,
            > 0 => BodyFraming.ContentLength,
            _ => BodyFraming.CloseDelimited,
        };
    }
}
