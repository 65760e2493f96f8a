using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>A response body that runs until the backend closes the connection (RFC 9112 section 6.3, rule 8).</summary>
internal struct CloseDelimitedBody : IBodyFraming
{
    private long _seen;

    public readonly bool EndsAtClose => true;

    public readonly long DataBytes => _seen;

    public ParseStatus Take(in ReadOnlySequence<byte> buffer, out long take, out RejectReason reason)
    {
        reason = RejectReason.None;
        take = buffer.Length;
        _seen += take;
        return ParseStatus.Incomplete;
    }
}
