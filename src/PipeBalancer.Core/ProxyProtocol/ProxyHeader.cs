using System.Buffers.Binary;
using System.Net;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// A parsed PROXY header: its version and, when it carries them, the addresses of the
/// connection it stands for. Held as values, so parsing allocates nothing; the endpoints are
/// built once, when the connection takes them.
/// </summary>
internal readonly struct ProxyHeader
{
    /// <summary>1 or 2.</summary>
    public int Version { get; init; }

    /// <summary>
    /// Whether it names the client: false for v1 <c>UNKNOWN</c>, a v2 <c>LOCAL</c> command and
    /// the v2 <c>UNSPEC</c> and <c>UNIX</c> families, where the connection keeps its own addresses.
    /// </summary>
    public bool HasAddresses { get; init; }

    /// <summary>Whether the addresses are IPv6 (else IPv4, in the low 32 bits).</summary>
    public bool IsIPv6 { get; init; }

    /// <summary>The client's address, big-endian.</summary>
    public UInt128 Source { get; init; }

    /// <summary>The address the client connected to, big-endian.</summary>
    public UInt128 Destination { get; init; }

    /// <summary>The client's port.</summary>
    public ushort SourcePort { get; init; }

    /// <summary>The port the client connected to.</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>The client's endpoint (allocates; call once per connection).</summary>
    public IPEndPoint SourceEndPoint() => new(ToAddress(Source), SourcePort);

    /// <summary>The endpoint the client connected to (allocates; call once per connection).</summary>
    public IPEndPoint DestinationEndPoint() => new(ToAddress(Destination), DestinationPort);

    private IPAddress ToAddress(UInt128 value)
    {
        if (!IsIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)value);
            return new IPAddress(v4);
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, value);
        return new IPAddress(v6);
    }
}
