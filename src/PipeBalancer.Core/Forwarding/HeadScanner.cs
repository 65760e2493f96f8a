using System.Buffers;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Decides when a head that is still arriving is worth parsing, so that a head sent in many
/// small pieces costs time linear in its size: the parser (which wants a contiguous copy of
/// the whole head) runs on the first look, when the first line is complete, when an empty line
/// may end the head, when the bytes cross a size limit, or when they have doubled since the last
/// parse; in between, only the bytes not looked at before are scanned, once.
/// </summary>
internal struct HeadScanner
{
    private long _scanned;
    private long _parsedLength;
    private bool _parsed;
    private bool _lineEndSeen;
    private LineState _state;

    private enum LineState : byte
    {
        InLine,
        LineStart,
        LineStartCr,
    }

    /// <summary>Starts on a new head.</summary>
    public void Reset() => this = default;

    /// <summary>
    /// Whether <paramref name="buffer"/> (the whole head so far) should be parsed now. A parse
    /// that may fail on a limit is not put off past <paramref name="limit1"/> or <paramref name="limit2"/>.
    /// </summary>
    public bool ShouldParse(in ReadOnlySequence<byte> buffer, long limit1, long limit2)
    {
        long length = buffer.Length;
        if (!_parsed)
        {
            // The usual case: the whole head came in the first read, and the parser sees it at once.
            _parsed = true;
            _parsedLength = length;
            return true;
        }

        bool parse = Scan(buffer) ||
            length >= 2 * _parsedLength ||
            Crossed(limit1, length) || Crossed(limit2, length);
        if (parse)
        {
            _parsedLength = length;
        }

        return parse;
    }

    private readonly bool Crossed(long limit, long length) => _parsedLength < limit && length >= limit;

    // Looks at the bytes not seen before for the end of the first line or an empty line (LF LF
    // or LF CR LF); a bare CR at a line start also calls for the parser, which rejects it.
    private bool Scan(in ReadOnlySequence<byte> buffer)
    {
        if (_scanned >= buffer.Length)
        {
            return false;
        }

        bool found = false;
        foreach (var memory in buffer.Slice(_scanned))
        {
            var span = memory.Span;
            int i = 0;
            while (i < span.Length)
            {
                if (_state == LineState.InLine)
                {
                    int lf = span[i..].IndexOf((byte)'\n');
                    if (lf < 0)
                    {
                        break;
                    }

                    i += lf + 1;
                    _state = LineState.LineStart;
                    found |= !_lineEndSeen;
                    _lineEndSeen = true;
                    continue;
                }

                byte b = span[i++];
                if (b == (byte)'\n')
                {
                    found = true;
                }
                else if (b == (byte)'\r' && _state == LineState.LineStart)
                {
                    _state = LineState.LineStartCr;
                    continue;
                }
                else if (_state == LineState.LineStartCr)
                {
                    found = true;
                }

                _state = b == (byte)'\n' ? LineState.LineStart : LineState.InLine;
            }

            _scanned += span.Length;
        }

        return found;
    }
}
