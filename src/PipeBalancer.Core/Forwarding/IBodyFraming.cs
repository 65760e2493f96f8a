using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>
/// One way a message body is delimited (RFC 9112 section 6): it says how much of the bytes at
/// hand belong to the body and when the body ends. One struct per framing, used by the request
/// body pump and the response relay alike; the bytes themselves pass through unchanged.
/// </summary>
internal interface IBodyFraming
{
    /// <summary>Whether the body ends only when the sender closes (then its end is a success).</summary>
    bool EndsAtClose { get; }

    /// <summary>Body data bytes seen so far (chunk sizes for chunked), for body limits.</summary>
    long DataBytes { get; }

    /// <summary>
    /// How many bytes of <paramref name="buffer"/> (<paramref name="take"/>) belong to the body:
    /// <see cref="ParseStatus.Complete"/> when it ends within them, <see cref="ParseStatus.Incomplete"/>
    /// when more is to come, <see cref="ParseStatus.Error"/> with <paramref name="reason"/> when the framing is broken.
    /// </summary>
    ParseStatus Take(in ReadOnlySequence<byte> buffer, out long take, out RejectReason reason);
}
