using System.Buffers;
using System.Text;

namespace PipeBalancer.Http1;

/// <summary>
/// Parses a request head (RFC 9112 sections 2-3 and 5-6) strictly. Anything a smuggling
/// attack or a broken client could use is refused with a <see cref="RejectReason"/>.
/// Works on a contiguous view; never allocates.
/// </summary>
internal static class RequestHeadParser
{
    // RFC 3986 characters allowed in a request target: unreserved, sub-delims, ":", "@", "/",
    // "?" and "%" (checked for two hex digits). '#', controls, space, DEL, the "unwise"
    // characters and every non-ASCII byte are refused, as HAProxy does by default.
    private static readonly SearchValues<byte> TargetBytes = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%"u8);

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789ABCDEFabcdef"u8);

    /// <summary>
    /// Parses the head at the start of <paramref name="data"/> into <paramref name="head"/>.
    /// Empty lines before the request line are skipped (RFC 9112 section 2.2). On
    /// <see cref="ParseStatus.Complete"/>, <paramref name="consumed"/> is the bytes the head took.
    /// </summary>
    public static ParseStatus TryParse(ReadOnlyMemory<byte> data, RequestHead head, HttpLimits limits, out int consumed, out RejectReason reason)
    {
        head.Reset();
        consumed = 0;
        var span = data.Span;
        int lead = 0;
        while (lead + 1 < span.Length && span[lead] == (byte)'\r' && span[lead + 1] == (byte)'\n')
        {
            lead += 2;
        }

        // The empty lines count against the request line's limit: without a bound, a client
        // could fill the connection's buffer with them and never be refused.
        if (lead > limits.MaxRequestLineBytes)
        {
            reason = RejectReason.RequestLineTooLong;
            return ParseStatus.Error;
        }

        if (span.Length - lead < 2 && (span.Length == lead || span[lead] == (byte)'\r'))
        {
            reason = RejectReason.None;
            return ParseStatus.Incomplete;
        }

        var raw = data[lead..];
        span = raw.Span;
        head.Raw = raw;
        int lf = span.IndexOf((byte)'\n');
        if (lf < 0)
        {
            // Room for the line and its CR: the LF may be in the next read.
            reason = lead + span.Length > limits.MaxRequestLineBytes + 1 ? RejectReason.RequestLineTooLong : RejectReason.None;
            return reason == RejectReason.None ? ParseStatus.Incomplete : ParseStatus.Error;
        }

        if (lead + lf > limits.MaxRequestLineBytes + 1)
        {
            reason = RejectReason.RequestLineTooLong;
            return ParseStatus.Error;
        }

        if (lf == 0 || span[lf - 1] != (byte)'\r')
        {
            reason = RejectReason.InvalidLineEnding;
            return ParseStatus.Error;
        }

        reason = ParseRequestLine(span[..(lf - 1)], head);
        if (reason != RejectReason.None)
        {
            return ParseStatus.Error;
        }

        head.FieldsStart = lf + 1;
        var status = HeadParser.ParseFields(span, lf + 1, head, limits.MaxHeaderBytes, limits.MaxHeaderCount, out int end, out reason);
        if (status != ParseStatus.Complete)
        {
            return status;
        }

        head.Raw = raw[..end];
        reason = HeadParser.ReadFraming(head, out _);
        if (reason == RejectReason.None)
        {
            reason = CheckSemantics(head);
        }

        if (reason != RejectReason.None)
        {
            return ParseStatus.Error;
        }

        consumed = lead + end;
        return ParseStatus.Complete;
    }

    private static RejectReason ParseRequestLine(ReadOnlySpan<byte> line, RequestHead head)
    {
        head.RequestLineLength = line.Length;
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            return line.Contains((byte)'\r') ? RejectReason.InvalidLineEnding : RejectReason.BadRequestLine;
        }

        var method = line[..sp1];
        if (!HeadParser.IsToken(method))
        {
            return method.Contains((byte)'\r') ? RejectReason.InvalidLineEnding : RejectReason.InvalidMethod;
        }

        int sp2 = line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return RejectReason.BadRequestLine;
        }

        sp2 += sp1 + 1;
        var target = line[(sp1 + 1)..sp2];
        var version = line[(sp2 + 1)..];
        head.Method = Classify(method);
        head.MethodLength = sp1;
        head.TargetStart = sp1 + 1;
        head.TargetLength = target.Length;

        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            head.IsHttp11 = true;
        }
        else if (!version.SequenceEqual("HTTP/1.0"u8))
        {
            if (version.Contains((byte)'\r'))
            {
                return RejectReason.InvalidLineEnding;
            }

            bool wellFormed = version.Length == 8 && version.StartsWith("HTTP/"u8) &&
                char.IsAsciiDigit((char)version[5]) && version[6] == (byte)'.' && char.IsAsciiDigit((char)version[7]);
            return wellFormed ? RejectReason.UnsupportedVersion : version.Contains((byte)' ') ? RejectReason.BadRequestLine : RejectReason.InvalidVersion;
        }

        return CheckTarget(target, head.Method);
    }

    private static RejectReason CheckTarget(ReadOnlySpan<byte> target, RequestMethod method)
    {
        if (method == RequestMethod.Connect)
        {
            return RejectReason.MethodNotAllowed;
        }

        if (target.Length == 1 && target[0] == (byte)'*')
        {
            return method == RequestMethod.Options ? RejectReason.None : RejectReason.InvalidTarget;
        }

        if (target.ContainsAnyExcept(TargetBytes))
        {
            return target.Contains((byte)'\r') ? RejectReason.InvalidLineEnding : RejectReason.InvalidTarget;
        }

        // Every '%' starts an escape of two hex digits.
        for (int i = target.IndexOf((byte)'%'); i >= 0; i = NextPercent(target, i + 3))
        {
            if (i + 2 >= target.Length || !HexDigits.Contains(target[i + 1]) || !HexDigits.Contains(target[i + 2]))
            {
                return RejectReason.InvalidTarget;
            }
        }

        if (target[0] == (byte)'/')
        {
            return RejectReason.None;
        }

        // absolute-form: http://authority/path or https://... (RFC 9112 section 3.2.2).
        bool absolute = Ascii.EqualsIgnoreCase(target[..Math.Min(7, target.Length)], "http://"u8) ||
            Ascii.EqualsIgnoreCase(target[..Math.Min(8, target.Length)], "https://"u8);
        if (!absolute)
        {
            return RejectReason.InvalidTarget;
        }

        // The authority runs to the path or the query; it must name a host (RFC 9110 section 4.2.1).
        var authority = target[(target.IndexOf("://"u8) + 3)..];
        int end = authority.IndexOfAny((byte)'/', (byte)'?');
        return Authority.IsValid(end < 0 ? authority : authority[..end]) ? RejectReason.None : RejectReason.InvalidAuthority;
    }

    private static int NextPercent(ReadOnlySpan<byte> target, int from)
    {
        if (from >= target.Length)
        {
            return -1;
        }

        int next = target[from..].IndexOf((byte)'%');
        return next < 0 ? -1 : from + next;
    }

    private static RejectReason CheckSemantics(RequestHead head)
    {
        int hosts = 0;
        bool invalidHost = false;
        var raw = head.Raw.Span;
        for (int i = 0; i < head.FieldCount; i++)
        {
            ref var f = ref head.Fields[i];
            if (f.Kind == FieldKind.Host)
            {
                // Whatever the target's form, Host names an authority; an empty or malformed one
                // is refused rather than passed to a backend (RFC 9110 section 7.2).
                if (!Authority.IsValid(raw.Slice(f.ValueStart, f.ValueLength)))
                {
                    invalidHost = true;
                }

                hosts++;
            }
            else if (f.Kind == FieldKind.Expect && Ascii.EqualsIgnoreCase(raw.Slice(f.ValueStart, f.ValueLength), "100-continue"u8))
            {
                head.Expect100Continue = true;
            }
            else if (f.Kind == FieldKind.Upgrade)
            {
                // Upgrade is hop-by-hop; it survives only when Connection asks for the upgrade.
                f.Drop = !head.ConnectionUpgrade;
                head.HasHopByHop |= f.Drop;
            }
        }

        // RFC 9112 section 3.2: exactly one Host in HTTP/1.1; at most one in HTTP/1.0.
        if (hosts > 1 || (hosts == 0 && head.IsHttp11))
        {
            return RejectReason.InvalidHost;
        }

        if (invalidHost)
        {
            return RejectReason.InvalidAuthority;
        }

        if (head.HasTransferEncoding)
        {
            // RFC 9112 section 6.1: Transfer-Encoding with Content-Length is a smuggling
            // attempt, HTTP/1.0 has no chunked, and a final coding other than chunked leaves
            // the request length unknowable.
            if (head.ContentLength >= 0)
            {
                return RejectReason.ContentLengthWithTransferEncoding;
            }

            if (!head.IsHttp11 || !head.Chunked)
            {
                return RejectReason.InvalidTransferEncoding;
            }
        }

        return RejectReason.None;
    }

    private static RequestMethod Classify(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => RequestMethod.Get,
        3 when method.SequenceEqual("PUT"u8) => RequestMethod.Put,
        4 when method.SequenceEqual("HEAD"u8) => RequestMethod.Head,
        4 when method.SequenceEqual("POST"u8) => RequestMethod.Post,
        5 when method.SequenceEqual("TRACE"u8) => RequestMethod.Trace,
        5 when method.SequenceEqual("PATCH"u8) => RequestMethod.Patch,
        6 when method.SequenceEqual("DELETE"u8) => RequestMethod.Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => RequestMethod.Options,
        7 when method.SequenceEqual("CONNECT"u8) => RequestMethod.Connect,
        _ => RequestMethod.Other,
    };
}
