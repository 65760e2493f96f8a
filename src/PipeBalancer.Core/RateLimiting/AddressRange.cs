using System.Net;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// A network (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or a single address, matched against the
/// client-address key bytes (4 for IPv4, also when it arrived IPv4-mapped; 16 for IPv6) without
/// building an <see cref="IPAddress"/>.
/// </summary>
internal readonly struct AddressRange
{
    private readonly byte[] _network;
    private readonly int _prefix;

    private AddressRange(byte[] network, int prefix)
    {
        _network = network;
        _prefix = prefix;
    }

    /// <summary>Parses a CIDR or a single address; false with the reason otherwise.</summary>
    public static bool TryParse(string text, out AddressRange range, out string? error)
    {
        range = default;
        error = null;
        string candidate = text.Contains('/', StringComparison.Ordinal) ? text : text + (text.Contains(':', StringComparison.Ordinal) ? "/128" : "/32");
        if (!IPNetwork.TryParse(candidate, out var network))
        {
            error = $"'{text}' is not an IP address or a CIDR (10.0.0.0/8, 2001:db8::/32)";
            return false;
        }

        var bytes = network.BaseAddress.IsIPv4MappedToIPv6 ? network.BaseAddress.MapToIPv4().GetAddressBytes() : network.BaseAddress.GetAddressBytes();
        int prefix = network.BaseAddress.IsIPv4MappedToIPv6 ? Math.Max(0, network.PrefixLength - 96) : network.PrefixLength;
        range = new AddressRange(bytes, prefix);
        return true;
    }

    /// <summary>Whether the address <paramref name="key"/> (4 or 16 bytes) is in the range.</summary>
    public bool Contains(ReadOnlySpan<byte> key)
    {
        if (key.Length != _network.Length)
        {
            return false;
        }

        int whole = _prefix / 8;
        if (!key[..whole].SequenceEqual(_network.AsSpan(0, whole)))
        {
            return false;
        }

        int rest = _prefix % 8;
        if (rest == 0)
        {
            return true;
        }

        int mask = 0xFF << (8 - rest) & 0xFF;
        return (key[whole] & mask) == (_network[whole] & mask);
    }

    /// <summary>Copies <paramref name="key"/> into <paramref name="destination"/> with the bits past <paramref name="prefix"/> cleared.</summary>
    public static void MaskTo(ReadOnlySpan<byte> key, int prefix, Span<byte> destination)
    {
        key.CopyTo(destination);
        for (int i = 0; i < key.Length; i++)
        {
            int keep = Math.Clamp(prefix - (i * 8), 0, 8);
            destination[i] &= (byte)(0xFF << (8 - keep));
        }
    }
}
