using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>A chunked body (RFC 9112 section 7.1), followed as it passes by <see cref="ChunkedReader"/>.</summary>
internal struct ChunkedBody : IBodyFraming
{
    private ChunkedReader _reader;

    public readonly bool EndsAtClose => false;

    public readonly long DataBytes => _reader.DataBytes;

    public ParseStatus Take(in ReadOnlySequence<byte> buffer, out long take, out RejectReason reason) => _reader.Read(buffer, out take, out reason);
}
