using System.Buffers;
using System.Buffers.Binary;
using PipeBalancer.Http1;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// Parses the PROXY protocol header (v1 text, v2 binary) at the start of a connection, from the
/// connection's pipe: incomplete until the whole header is there, then complete with the
/// header and how many bytes it took, or an error. Lengths are checked before any byte is read
/// (a v1 line is at most 107 bytes; a v2 header's length field must cover its address block
/// and every TLV in it), nothing is allocated, and bytes after the header are left alone.
/// Facts from the protocol's specification (haproxy's doc/proxy-protocol.txt).
/// </summary>
internal static class ProxyHeaderParser
{
    /// <summary>The longest v1 line, CRLF included (the specification's worst case).</summary>
    public const int MaxV1Length = 107;

    /// <summary>The v2 header's fixed part: signature, version and command, family and transport, length.</summary>
    public const int V2FixedLength = 16;

    /// <summary>The v2 signature, 12 bytes that no v1 header or HTTP request starts with.</summary>
    public static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>What every v1 header starts with.</summary>
    public static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    // v2 families (high nibble of byte 13) and their address block lengths.
    private const int FamilyUnspec = 0;
    private const int FamilyInet = 1;
    private const int FamilyInet6 = 2;
    private const int FamilyUnix = 3;
    private const int TransportStream = 1;
    private const int TransportDgram = 2;
    private const int CommandLocal = 0;
    private const int CommandProxy = 1;

    /// <summary>
    /// Which header, if any, <paramref name="buffer"/> starts with: a version (1 or 2) once its
    /// whole prefix is there, 0 when it cannot be a header, -1 when more bytes are needed to tell.
    /// </summary>
    public static int Identify(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> first = stackalloc byte[12];
        int length = (int)Math.Min(buffer.Length, first.Length);
        buffer.Slice(0, length).CopyTo(first);
        first = first[..length];
        if (length == 0)
        {
            return -1;
        }

        var v1 = V1Prefix;
        if (first[..Math.Min(length, v1.Length)].SequenceEqual(v1[..Math.Min(length, v1.Length)]))
        {
            return length >= v1.Length ? 1 : -1;
        }

        var v2 = V2Signature;
        if (first.SequenceEqual(v2[..length]))
        {
            return length == v2.Length ? 2 : -1;
        }

        return 0;
    }

    /// <summary>Parses the header at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The connection's bytes so far.</param>
    /// <param name="accept">The versions the listener accepts; another is an error as soon as its prefix is seen.</param>
    /// <param name="header">The header, when complete.</param>
    /// <param name="consumed">The header's length in bytes, when complete.</param>
    /// <param name="error">Why, on error.</param>
    public static ParseStatus TryParse(in ReadOnlySequence<byte> buffer, ProxyVersions accept, out ProxyHeader header, out int consumed, out ProxyHeaderError error)
    {
        header = default;
        consumed = 0;
        error = ProxyHeaderError.None;
        int version = Identify(buffer);
        if (version < 0)
        {
            return ParseStatus.Incomplete;
        }

        if (version == 0)
        {
            error = ProxyHeaderError.Missing;
            return ParseStatus.Error;
        }

        if ((accept & (version == 1 ? ProxyVersions.V1 : ProxyVersions.V2)) == 0)
        {
            error = ProxyHeaderError.Version;
            return ParseStatus.Error;
        }

        var status = version == 1 ? ParseV1(buffer, out header, out consumed) : ParseV2(buffer, out header, out consumed);
        if (status == ParseStatus.Error)
        {
            error = ProxyHeaderError.Malformed;
        }

        return status;
    }

    // "PROXY TCP4 src dst sport dport\r\n", "PROXY TCP6 ...", or "PROXY UNKNOWN[ anything]\r\n".
    private static ParseStatus ParseV1(in ReadOnlySequence<byte> buffer, out ProxyHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        Span<byte> line = stackalloc byte[MaxV1Length];
        int available = (int)Math.Min(buffer.Length, MaxV1Length);
        buffer.Slice(0, available).CopyTo(line);
        line = line[..available];
        int lf = line.IndexOf((byte)'\n');
        if (lf < 0)
        {
            return available == MaxV1Length ? ParseStatus.Error : ParseStatus.Incomplete;
        }

        if (line[lf - 1] != '\r')
        {
            return ParseStatus.Error;
        }

        var rest = line[V1Prefix.Length..(lf - 1)];
        consumed = lf + 1;
        if (rest.StartsWith("UNKNOWN"u8))
        {
            // The sender knows no addresses (or not ones to tell): what follows is ignored.
            if (rest.Length > 7 && rest[7] != ' ')
            {
                return ParseStatus.Error;
            }

            header = new ProxyHeader { Version = 1 };
            return ParseStatus.Complete;
        }

        bool v6;
        if (rest.StartsWith("TCP4 "u8))
        {
            v6 = false;
        }
        else if (rest.StartsWith("TCP6 "u8))
        {
            v6 = true;
        }
        else
        {
            return ParseStatus.Error;
        }

        rest = rest[5..];
        if (!NextField(ref rest, out var sourceText) || !NextField(ref rest, out var destinationText) || !NextField(ref rest, out var sourcePortText))
        {
            return ParseStatus.Error;
        }

        UInt128 source, destination;
        if (v6)
        {
            if (!AddressText.TryParseIPv6(sourceText, out source) || !AddressText.TryParseIPv6(destinationText, out destination))
            {
                return ParseStatus.Error;
            }
        }
        else
        {
            if (!AddressText.TryParseIPv4(sourceText, out uint s4) || !AddressText.TryParseIPv4(destinationText, out uint d4))
            {
                return ParseStatus.Error;
            }

            source = s4;
            destination = d4;
        }

        if (!AddressText.TryParsePort(sourcePortText, out ushort sourcePort) || !AddressText.TryParsePort(rest, out ushort destinationPort))
        {
            return ParseStatus.Error;
        }

        header = new ProxyHeader
        {
            Version = 1,
            HasAddresses = true,
            IsIPv6 = v6,
            Source = source,
            Destination = destination,
            SourcePort = sourcePort,
            DestinationPort = destinationPort,
        };
        return ParseStatus.Complete;
    }

    // One field and the single space after it.
    private static bool NextField(ref Span<byte> rest, out Span<byte> field)
    {
        int space = rest.IndexOf((byte)' ');
        if (space <= 0)
        {
            field = default;
            return false;
        }

        field = rest[..space];
        rest = rest[(space + 1)..];
        return true;
    }

    // Signature (12), version and command (1), family and transport (1), length (2, big-endian),
    // then the address block for the family and TLVs up to the length.
    private static ParseStatus ParseV2(in ReadOnlySequence<byte> buffer, out ProxyHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (buffer.Length < V2FixedLength)
        {
            return ParseStatus.Incomplete;
        }

        Span<byte> fixedPart = stackalloc byte[V2FixedLength];
        buffer.Slice(0, V2FixedLength).CopyTo(fixedPart);
        int versionCommand = fixedPart[12];
        int command = versionCommand & 0x0F;
        int family = fixedPart[13] >> 4;
        int transport = fixedPart[13] & 0x0F;
        if (versionCommand >> 4 != 2 || command > CommandProxy || family > FamilyUnix || transport > TransportDgram)
        {
            return ParseStatus.Error;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
        if (buffer.Length < V2FixedLength + length)
        {
            return ParseStatus.Incomplete;
        }

        int addressLength = family switch
        {
            FamilyInet => 12,
            FamilyInet6 => 36,
            FamilyUnix => 216,
            _ => 0,
        };

        if (length < addressLength)
        {
            if (command == CommandProxy)
            {
                return ParseStatus.Error;
            }

            // LOCAL (a health check from the sender itself): the block is skipped whatever it holds.
            addressLength = length;
        }

        if (command == CommandProxy && transport == TransportDgram)
        {
            // A datagram flow cannot arrive on a stream listener.
            return ParseStatus.Error;
        }

        var tlvs = buffer.Slice(V2FixedLength + addressLength, length - addressLength);
        if (!TlvsFit(tlvs))
        {
            return ParseStatus.Error;
        }

        consumed = V2FixedLength + length;
        bool addresses = command == CommandProxy && transport == TransportStream && family is FamilyInet or FamilyInet6;
        if (!addresses)
        {
            // LOCAL, UNSPEC and UNIX: the connection keeps its own addresses.
            header = new ProxyHeader { Version = 2 };
            return ParseStatus.Complete;
        }

        Span<byte> block = stackalloc byte[36];
        buffer.Slice(V2FixedLength, addressLength).CopyTo(block);
        bool v6 = family == FamilyInet6;
        int size = v6 ? 16 : 4;
        header = new ProxyHeader
        {
            Version = 2,
            HasAddresses = true,
            IsIPv6 = v6,
            Source = v6 ? BinaryPrimitives.ReadUInt128BigEndian(block) : BinaryPrimitives.ReadUInt32BigEndian(block),
            Destination = v6 ? BinaryPrimitives.ReadUInt128BigEndian(block[size..]) : BinaryPrimitives.ReadUInt32BigEndian(block[size..]),
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(block[(2 * size)..]),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(block[((2 * size) + 2)..]),
        };
        return ParseStatus.Complete;
    }

    // Type (1), length (2, big-endian), value: each TLV must end within the header. Their
    // content (ALPN, authority, TLS details, CRC) is not used, so it is skipped, not read.
    private static bool TlvsFit(ReadOnlySequence<byte> tlvs)
    {
        var reader = new SequenceReader<byte>(tlvs);
        while (!reader.End)
        {
            if (reader.Remaining < 3)
            {
                return false;
            }

            reader.Advance(1);
            reader.TryReadBigEndian(out short length);
            if (reader.Remaining < (ushort)length)
            {
                return false;
            }

            reader.Advance((ushort)length);
        }

        return true;
    }
}
