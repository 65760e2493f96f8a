using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>
/// A copy of a request (head, then body) kept while an idempotent request with a body of at
/// most <c>retries.maxBufferedBodyBytes</c> is sent, so that it can be sent again to another
/// backend after a failure: the client's pipe has moved past the head and body by then. The
/// buffer comes from the shared array pool and is kept for the connection's next requests.
/// </summary>
internal sealed class ReplayBuffer : IDisposable
{
    private byte[]? _buffer;
    private int _headLength;
    private int _bodyLength;
    private int _limit;

    /// <summary>Whether the request is being copied (it may still turn out too long).</summary>
    public bool Keeping { get; private set; }

    /// <summary>Whether a whole request is held and may be sent again.</summary>
    public bool Ready { get; private set; }

    /// <summary>The copied head.</summary>
    public ReadOnlyMemory<byte> Head => _buffer.AsMemory(0, _headLength);

    /// <summary>The copied body.</summary>
    public ReadOnlySpan<byte> Body => _buffer.AsSpan(_headLength, _bodyLength);

    /// <summary>Forgets the previous request.</summary>
    public void Clear()
    {
        Keeping = false;
        Ready = false;
    }

    /// <summary>Starts keeping <paramref name="request"/> when it is idempotent and its body may fit in <paramref name="limit"/> bytes.</summary>
    public void Begin(RequestHead request, int limit)
    {
        Ready = false;
        Keeping = limit > 0 && request.IsIdempotent && (request.Chunked || request.ContentLength <= limit);
        if (!Keeping)
        {
            return;
        }

        int needed = request.Raw.Length + limit;
        if (_buffer is null || _buffer.Length < needed)
        {
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = ArrayPool<byte>.Shared.Rent(needed);
        }

        request.Raw.Span.CopyTo(_buffer);
        _headLength = request.Raw.Length;
        _bodyLength = 0;
        _limit = limit;
    }

    /// <summary>Appends body bytes; a body over the limit stops the copy (the request can then not be repeated).</summary>
    public void Append(in ReadOnlySequence<byte> bytes)
    {
        if (!Keeping)
        {
            return;
        }

        if (_bodyLength + bytes.Length > _limit)
        {
            Keeping = false;
            return;
        }

        bytes.CopyTo(_buffer.AsSpan(_headLength + _bodyLength));
        _bodyLength += (int)bytes.Length;
    }

    /// <summary>The body ended and was sent whole: the copy may be replayed.</summary>
    public void Complete() => Ready = Keeping;

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
