using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace PipeBalancer.Http1;

/// <summary>The outcome of one parse attempt.</summary>
public enum ParseStatus : byte
{
    /// <summary>More bytes are needed.</summary>
    Incomplete,

    /// <summary>A whole head was parsed.</summary>
    Complete,

    /// <summary>The head is malformed; the reason says how.</summary>
    Error,
}

/// <summary>
/// Parsing shared by request and response heads (RFC 9112 sections 2 and 5): the field lines,
/// and the framing fields. Strict: every line ends with CRLF, no obs-fold, no whitespace before
/// a colon, token names, no control characters in values.
/// </summary>
internal static class HeadParser
{
    // Field values: VCHAR, obs-text, SP and HTAB (RFC 9110 section 5.5). Everything else below
    // 0x20, and DEL, is refused; CR is looked for first to call it a line-ending fault.
    private static readonly SearchValues<byte> InvalidValueBytes = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127]);

    private static readonly SearchValues<byte> TokenBytes = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Whether <paramref name="span"/> is a non-empty token (RFC 9110 section 5.6.2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsToken(ReadOnlySpan<byte> span) => !span.IsEmpty && !span.ContainsAnyExcept(TokenBytes);

    /// <summary>
    /// Gives a contiguous view of the start of <paramref name="buffer"/>: its first segment when
    /// that holds everything, else a copy of up to <paramref name="scratch"/>'s length.
    /// </summary>
    public static ReadOnlyMemory<byte> Contiguous(in ReadOnlySequence<byte> buffer, byte[] scratch)
    {
        if (buffer.IsSingleSegment)
        {
            return buffer.First;
        }

        int length = (int)Math.Min(buffer.Length, scratch.Length);
        buffer.Slice(0, length).CopyTo(scratch);
        return scratch.AsMemory(0, length);
    }

    /// <summary>
    /// Parses the field lines from <paramref name="offset"/> up to and including the blank line.
    /// On <see cref="ParseStatus.Complete"/>, <paramref name="end"/> is the head's length.
    /// </summary>
    internal static ParseStatus ParseFields(ReadOnlySpan<byte> data, int offset, MessageHead head, int maxFieldBytes, int maxFields,
        out int end, out RejectReason reason)
    {
        end = 0;
        reason = RejectReason.None;
        int sectionStart = offset;
        var fields = head.Fields;
        while (true)
        {
            int lf = data[offset..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                // A whole section may take maxFieldBytes + 2 with its blank line's CRLF; until its
                // last LF arrives, one byte less. A tighter bound here would refuse a head split
                // across reads that is accepted when it arrives at once.
                reason = data.Length - sectionStart > maxFieldBytes + 1 ? RejectReason.HeadersTooLarge : RejectReason.None;
                return reason == RejectReason.None ? ParseStatus.Incomplete : ParseStatus.Error;
            }

            int lineEnd = offset + lf;
            if (lineEnd + 1 - sectionStart > maxFieldBytes + 2)
            {
                reason = RejectReason.HeadersTooLarge;
                return ParseStatus.Error;
            }

            if (lf == 0 || data[lineEnd - 1] != (byte)'\r')
            {
                reason = RejectReason.InvalidLineEnding;
                return ParseStatus.Error;
            }

            var line = data[offset..(lineEnd - 1)];
            if (line.IsEmpty)
            {
                end = lineEnd + 1;
                return ParseStatus.Complete;
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                reason = RejectReason.ObsoleteLineFolding;
                return ParseStatus.Error;
            }

            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                reason = line.Contains((byte)'\r') ? RejectReason.InvalidLineEnding : RejectReason.InvalidFieldName;
                return ParseStatus.Error;
            }

            var name = line[..colon];
            if (name[^1] is (byte)' ' or (byte)'\t')
            {
                reason = RejectReason.WhitespaceBeforeColon;
                return ParseStatus.Error;
            }

            if (!IsToken(name))
            {
                reason = name.Contains((byte)'\r') ? RejectReason.InvalidLineEnding : RejectReason.InvalidFieldName;
                return ParseStatus.Error;
            }

            int valueStart = colon + 1;
            int valueEnd = line.Length;
            while (valueStart < valueEnd && line[valueStart] is (byte)' ' or (byte)'\t')
            {
                valueStart++;
            }

            while (valueEnd > valueStart && line[valueEnd - 1] is (byte)' ' or (byte)'\t')
            {
                valueEnd--;
            }

            var value = line[valueStart..valueEnd];
            int bad = value.IndexOfAny(InvalidValueBytes);
            if (bad >= 0)
            {
                reason = value[bad] == (byte)'\r' ? RejectReason.InvalidLineEnding : RejectReason.InvalidFieldValue;
                return ParseStatus.Error;
            }

            if (head.FieldCount == maxFields || (head.FieldCount == fields.Length && !head.TryGrowFields()))
            {
                reason = RejectReason.TooManyHeaders;
                return ParseStatus.Error;
            }

            fields = head.Fields;

            ref var field = ref fields[head.FieldCount++];
            field.LineStart = offset;
            field.LineLength = lineEnd + 1 - offset;
            field.NameStart = offset;
            field.NameLength = colon;
            field.ValueStart = offset + valueStart;
            field.ValueLength = valueEnd - valueStart;
            field.Kind = Classify(name);
            field.Drop = field.Kind is FieldKind.Connection or FieldKind.KeepAlive or FieldKind.ProxyConnection or FieldKind.TE;
            offset = lineEnd + 1;
        }
    }

    /// <summary>
    /// Reads the framing and connection fields once every line is known: Content-Length (all
    /// copies equal), Transfer-Encoding (chunked last and once), Connection options, and marks
    /// the fields Connection names as hop-by-hop. Every field is read whatever comes first, so
    /// the verdict does not depend on their order; the first fault in field order is returned,
    /// and <paramref name="badContentLength"/> says whether any Content-Length was at fault.
    /// </summary>
    internal static RejectReason ReadFraming(MessageHead head, out bool badContentLength)
    {
        var fault = RejectReason.None;
        badContentLength = false;
        bool badTransferEncoding = false;
        var raw = head.Raw.Span;
        for (int i = 0; i < head.FieldCount; i++)
        {
            ref var f = ref head.Fields[i];
            var value = raw.Slice(f.ValueStart, f.ValueLength);
            switch (f.Kind)
            {
                case FieldKind.ContentLength:
                    if (badContentLength)
                    {
                        head.ContentLengthValues++;
                        break;
                    }

                    if (!TryParseContentLength(value, head, out long length) || (head.ContentLength >= 0 && head.ContentLength != length))
                    {
                        badContentLength = true;
                        head.ContentLength = -1;
                        fault = fault == RejectReason.None ? RejectReason.InvalidContentLength : fault;
                        break;
                    }

                    head.ContentLength = length;
                    break;
                case FieldKind.TransferEncoding:
                    head.HasTransferEncoding = true;

                    // Once the codings are broken, a later field cannot make chunked last again.
                    if (!badTransferEncoding && !ReadTransferCodings(value, head))
                    {
                        badTransferEncoding = true;
                        fault = fault == RejectReason.None ? RejectReason.InvalidTransferEncoding : fault;
                    }

                    break;
                case FieldKind.Connection:
                    ReadConnectionOptions(value, head);
                    break;
            }

            head.HasHopByHop |= f.Drop;
        }

        return fault;
    }

    // Content-Length = 1*DIGIT; a list of identical values ("5, 5") is accepted as one value,
    // as RFC 9112 section 6.3 allows. Every value read is counted in ContentLengthValues.
    private static bool TryParseContentLength(ReadOnlySpan<byte> value, MessageHead head, out long length)
    {
        length = -1;
        foreach (var range in value.Split((byte)','))
        {
            head.ContentLengthValues++;
            var item = value[range].Trim(" \t"u8);
            if (item.IsEmpty || item.Length > 18)
            {
                return false;
            }

            long parsed = 0;
            foreach (byte b in item)
            {
                if ((uint)(b - '0') > 9)
                {
                    return false;
                }

                parsed = (parsed * 10) + (b - '0');
            }

            if (length >= 0 && parsed != length)
            {
                return false;
            }

            length = parsed;
        }

        return length >= 0;
    }

    // The codings of every Transfer-Encoding field, in order: chunked must be the last and
    // appear only once (RFC 9112 section 6.1).
    private static bool ReadTransferCodings(ReadOnlySpan<byte> value, MessageHead head)
    {
        foreach (var range in value.Split((byte)','))
        {
            var coding = value[range].Trim(" \t"u8);
            int parameters = coding.IndexOf((byte)';');
            var name = (parameters < 0 ? coding : coding[..parameters]).TrimEnd(" \t"u8);
            if (name.IsEmpty)
            {
                continue;
            }

            if (!IsToken(name) || head.Chunked)
            {
                // A coding after chunked: chunked is no longer last.
                head.Chunked = false;
                return false;
            }

            head.Chunked = Ascii.EqualsIgnoreCase(name, "chunked"u8);
        }

        return true;
    }

    private static void ReadConnectionOptions(ReadOnlySpan<byte> value, MessageHead head)
    {
        foreach (var range in value.Split((byte)','))
        {
            var option = value[range].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(option, "close"u8))
            {
                head.ConnectionClose = true;
            }
            else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
            {
                head.ConnectionKeepAlive = true;
            }
            else if (Ascii.EqualsIgnoreCase(option, "upgrade"u8))
            {
                head.ConnectionUpgrade = true;
            }
            else if (!option.IsEmpty)
            {
                // Every field named by Connection is hop-by-hop (RFC 9110 section 7.6.1).
                var raw = head.Raw.Span;
                for (int i = 0; i < head.FieldCount; i++)
                {
                    ref var f = ref head.Fields[i];
                    if (f.NameLength == option.Length && Ascii.EqualsIgnoreCase(raw.Slice(f.NameStart, f.NameLength), option))
                    {
                        f.Drop = true;
                    }
                }
            }
        }
    }

    private static FieldKind Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "TE"u8) => FieldKind.TE,
        4 when Ascii.EqualsIgnoreCase(name, "Host"u8) => FieldKind.Host,
        6 when Ascii.EqualsIgnoreCase(name, "Expect"u8) => FieldKind.Expect,
        6 when Ascii.EqualsIgnoreCase(name, "Cookie"u8) => FieldKind.Cookie,
        7 when Ascii.EqualsIgnoreCase(name, "Upgrade"u8) => FieldKind.Upgrade,
        10 when Ascii.EqualsIgnoreCase(name, "Connection"u8) => FieldKind.Connection,
        10 when Ascii.EqualsIgnoreCase(name, "Keep-Alive"u8) => FieldKind.KeepAlive,
        14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8) => FieldKind.ContentLength,
        15 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8) => FieldKind.XForwardedFor,
        16 when Ascii.EqualsIgnoreCase(name, "Proxy-Connection"u8) => FieldKind.ProxyConnection,
        16 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-Host"u8) => FieldKind.XForwardedHost,
        17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) => FieldKind.TransferEncoding,
        17 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-Proto"u8) => FieldKind.XForwardedProto,
        _ => FieldKind.Other,
    };
}
