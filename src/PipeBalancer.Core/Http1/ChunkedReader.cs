using System.Buffers;

namespace PipeBalancer.Http1;

/// <summary>
/// Follows chunked framing (RFC 9112 section 7.1) over bytes as they arrive, without copying
/// or decoding them: it says how many bytes belong to the message and when it ends, and
/// refuses malformed sizes, missing CRLFs and oversized extensions or trailers. The bytes
/// themselves are passed through as they are.
/// </summary>
internal struct ChunkedReader
{
    /// <summary>Longest chunk extension accepted.</summary>
    private const int MaxExtensionBytes = 4096;

    /// <summary>Largest trailer section accepted.</summary>
    private const int MaxTrailerBytes = 32 * 1024;

    private State _state;
    private ulong _size;
    private int _count;

    private enum State : byte
    {
        Size,
        SizeWhitespace,
        Extension,
        SizeLf,
        Data,
        DataCr,
        DataLf,
        TrailerStart,
        TrailerLine,
        TrailerLineLf,
        TrailerEndLf,
        Done,
    }

    /// <summary>Whether the last chunk and trailers have been seen.</summary>
    public readonly bool IsComplete => _state == State.Done;

    /// <summary>Data bytes announced by chunk sizes so far (for body limits).</summary>
    public long DataBytes { get; private set; }

    /// <summary>Starts a new message.</summary>
    public void Reset() => this = default;

    /// <summary>
    /// Reads <paramref name="buffer"/>. Returns <see cref="ParseStatus.Complete"/> when the message
    /// ends inside it (after <paramref name="consumed"/> bytes), <see cref="ParseStatus.Incomplete"/>
    /// when all of it belongs to the message and more is needed, or <see cref="ParseStatus.Error"/>.
    /// </summary>
    public ParseStatus Read(in ReadOnlySequence<byte> buffer, out long consumed, out RejectReason reason)
    {
        consumed = 0;
        reason = RejectReason.None;
        foreach (var memory in buffer)
        {
            var span = memory.Span;
            int i = 0;
            while (i < span.Length)
            {
                if (_state == State.Data)
                {
                    int take = (int)Math.Min((ulong)(span.Length - i), _size);
                    i += take;
                    _size -= (ulong)take;
                    if (_size == 0)
                    {
                        _state = State.DataCr;
                    }

                    continue;
                }

                reason = Step(span[i++]);
                if (reason != RejectReason.None)
                {
                    consumed += i;
                    return ParseStatus.Error;
                }

                if (_state == State.Done)
                {
                    consumed += i;
                    return ParseStatus.Complete;
                }
            }

            consumed += span.Length;
        }

        return ParseStatus.Incomplete;
    }

    private RejectReason Step(byte b)
    {
        switch (_state)
        {
            case State.Size:
                int digit = HexValue(b);
                if (digit >= 0)
                {
                    // The limit is on the value (at most 2^64 - 1), not on the digits: leading
                    // zeros are valid (RFC 9112 section 7.1). The digits and the extension share
                    // the extension's bound, so a size line cannot run on forever.
                    if (++_count > MaxExtensionBytes || _size > (ulong.MaxValue >> 4))
                    {
                        return RejectReason.InvalidChunkSize;
                    }

                    _size = (_size << 4) | (uint)digit;
                    return RejectReason.None;
                }

                if (_count == 0)
                {
                    return RejectReason.InvalidChunkSize;
                }

                return b switch
                {
                    (byte)'\r' => Go(State.SizeLf),
                    (byte)';' => Go(State.Extension),
                    (byte)' ' or (byte)'\t' => Go(State.SizeWhitespace),
                    _ => RejectReason.InvalidChunkSize,
                };
            case State.SizeWhitespace:
                return b switch
                {
                    (byte)' ' or (byte)'\t' => RejectReason.None,
                    (byte)';' => Go(State.Extension),
                    _ => RejectReason.InvalidChunkSize,
                };
            case State.Extension:
                if (b == (byte)'\r')
                {
                    return Go(State.SizeLf);
                }

                return ++_count > MaxExtensionBytes || (b < 0x20 && b != (byte)'\t') || b == 0x7f
                    ? RejectReason.InvalidChunkFraming
                    : RejectReason.None;
            case State.SizeLf:
                if (b != (byte)'\n')
                {
                    return RejectReason.InvalidChunkFraming;
                }

                _count = 0;
                if (_size == 0)
                {
                    _state = State.TrailerStart;
                    return RejectReason.None;
                }

                DataBytes += (long)Math.Min(_size, long.MaxValue / 2);
                _state = State.Data;
                return RejectReason.None;
            case State.DataCr:
                return b == (byte)'\r' ? Go(State.DataLf) : RejectReason.InvalidChunkFraming;
            case State.DataLf:
                if (b != (byte)'\n')
                {
                    return RejectReason.InvalidChunkFraming;
                }

                _size = 0;
                _count = 0;
                _state = State.Size;
                return RejectReason.None;
            case State.TrailerStart:
                if (b == (byte)'\r')
                {
                    return Go(State.TrailerEndLf);
                }

                _state = State.TrailerLine;
                goto case State.TrailerLine;
            case State.TrailerLine:
                if (b == (byte)'\r')
                {
                    return Go(State.TrailerLineLf);
                }

                return ++_count > MaxTrailerBytes || (b < 0x20 && b != (byte)'\t') || b == 0x7f
                    ? RejectReason.InvalidChunkFraming
                    : RejectReason.None;
            case State.TrailerLineLf:
                return b == (byte)'\n' ? Go(State.TrailerStart) : RejectReason.InvalidChunkFraming;
            case State.TrailerEndLf:
                return b == (byte)'\n' ? Go(State.Done) : RejectReason.InvalidChunkFraming;
            default:
                return RejectReason.InvalidChunkFraming;
        }
    }

    private RejectReason Go(State state)
    {
        _state = state;
        return RejectReason.None;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
