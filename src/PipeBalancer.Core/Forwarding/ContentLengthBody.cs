using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>A body of exactly Content-Length bytes.</summary>
internal struct ContentLengthBody : IBodyFraming
{
    private readonly long _length;
    private long _remaining;

    public ContentLengthBody(long length)
    {
        _length = length;
        _remaining = length;
    }

    public readonly bool EndsAtClose => false;

    public readonly long DataBytes => _length - _remaining;

    public ParseStatus Take(in ReadOnlySequence<byte> buffer, out long take, out RejectReason reason)
    {
        reason = RejectReason.None;
        take = Math.Min(buffer.Length, _remaining);
        _remaining -= take;
        return _remaining == 0 ? ParseStatus.Complete : ParseStatus.Incomplete;
    }
}
