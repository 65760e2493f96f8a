using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// Writes the PROXY header the balancer sends first on a new backend connection: the client's
/// address and port and the address and port it connected to. Both must be IP endpoints of one
/// family (an IPv4 address beside an IPv6 one is written as IPv4-mapped IPv6); without them the
/// header says so (v1 <c>UNKNOWN</c>, v2 <c>LOCAL</c>) and the backend uses the connection's own
/// addresses. Facts from the protocol's specification (haproxy's doc/proxy-protocol.txt).
/// </summary>
internal static class ProxyHeaderWriter
{
    /// <summary>Room for the longest header written (v1 with IPv6 addresses: 104 bytes; v2: 52).</summary>
    public const int MaxLength = ProxyHeaderParser.MaxV1Length;

    /// <summary>Writes a header of <paramref name="version"/> (<see cref="ProxySend.V1"/> or <see cref="ProxySend.V2"/>) to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ProxySend version, EndPoint? client, EndPoint? destination)
    {
        var span = output.GetSpan(MaxLength);
        int written = Write(span, version, client, destination);
        output.Advance(written);
    }

    /// <summary>Writes a header into <paramref name="span"/> (at least <see cref="MaxLength"/> bytes); returns its length.</summary>
    public static int Write(Span<byte> span, ProxySend version, EndPoint? client, EndPoint? destination)
    {
        bool known = TryAddresses(client, destination, out var source, out var target);
        return version == ProxySend.V2 ? WriteV2(span, known, source, target) : WriteV1(span, known, source, target);
    }

    // "PROXY TCP4 src dst sport dport\r\n", or "PROXY UNKNOWN\r\n".
    private static int WriteV1(Span<byte> span, bool known, IPEndPoint? source, IPEndPoint? target)
    {
        int at = Append(span, 0, ProxyHeaderParser.V1Prefix);
        if (!known)
        {
            return Append(span, at, "UNKNOWN\r\n"u8);
        }

        at = Append(span, at, source!.AddressFamily == AddressFamily.InterNetworkV6 ? "TCP6 "u8 : "TCP4 "u8);
        source.Address.TryFormat(span[at..], out int n);
        at += n;
        span[at++] = (byte)' ';
        target!.Address.TryFormat(span[at..], out n);
        at += n;
        span[at++] = (byte)' ';
        source.Port.TryFormat(span[at..], out n, provider: System.Globalization.CultureInfo.InvariantCulture);
        at += n;
        span[at++] = (byte)' ';
        target.Port.TryFormat(span[at..], out n, provider: System.Globalization.CultureInfo.InvariantCulture);
        at += n;
        return Append(span, at, "\r\n"u8);
    }

    // Signature, 0x21 (v2, PROXY) or 0x20 (v2, LOCAL), family and transport, length, addresses.
    private static int WriteV2(Span<byte> span, bool known, IPEndPoint? source, IPEndPoint? target)
    {
        int at = Append(span, 0, ProxyHeaderParser.V2Signature);
        if (!known)
        {
            span[at++] = 0x20;
            span[at++] = 0x00;
            BinaryPrimitives.WriteUInt16BigEndian(span[at..], 0);
            return at + 2;
        }

        bool v6 = source!.AddressFamily == AddressFamily.InterNetworkV6;
        int size = v6 ? 16 : 4;
        span[at++] = 0x21;
        span[at++] = v6 ? (byte)0x21 : (byte)0x11;
        BinaryPrimitives.WriteUInt16BigEndian(span[at..], (ushort)((2 * size) + 4));
        at += 2;
        source.Address.TryWriteBytes(span[at..], out _);
        at += size;
        target!.Address.TryWriteBytes(span[at..], out _);
        at += size;
        BinaryPrimitives.WriteUInt16BigEndian(span[at..], (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(span[(at + 2)..], (ushort)target.Port);
        return at + 4;
    }

    // Both IP endpoints in one family: IPv4-mapped IPv6 (a dual-stack listener) back to IPv4
    // when both are, the IPv4 one mapped to IPv6 when only one is IPv6.
    private static bool TryAddresses(EndPoint? client, EndPoint? destination, out IPEndPoint? source, out IPEndPoint? target)
    {
        source = client as IPEndPoint;
        target = destination as IPEndPoint;
        if (source is null || target is null)
        {
            return false;
        }

        var s = source.Address.IsIPv4MappedToIPv6 ? source.Address.MapToIPv4() : source.Address;
        var t = target.Address.IsIPv4MappedToIPv6 ? target.Address.MapToIPv4() : target.Address;
        if (s.AddressFamily != t.AddressFamily)
        {
            s = s.MapToIPv6();
            t = t.MapToIPv6();
        }

        if (s.AddressFamily == AddressFamily.InterNetworkV6 && (s.ScopeId != 0 || t.ScopeId != 0))
        {
            // A link-local scope has no place in the header: print the address without it.
            s = new IPAddress(s.GetAddressBytes());
            t = new IPAddress(t.GetAddressBytes());
        }

        if (!ReferenceEquals(s, source.Address) || !ReferenceEquals(t, target.Address))
        {
            source = new IPEndPoint(s, source.Port);
            target = new IPEndPoint(t, target.Port);
        }

        return true;
    }

    private static int Append(Span<byte> span, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[at..]);
        return at + bytes.Length;
    }
}
