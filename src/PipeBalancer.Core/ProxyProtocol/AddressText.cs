namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// Strict parsing of the addresses and ports of a v1 header, from ASCII bytes and without
/// allocating. Stricter than <see cref="System.Net.IPAddress.TryParse(ReadOnlySpan{char}, out System.Net.IPAddress?)"/>,
/// which also takes forms no PROXY sender writes (<c>127.1</c>, <c>0x7f.0.0.1</c>, scope ids):
/// IPv4 is four decimal octets without leading zeros; IPv6 is eight hex groups of 1..4 digits
/// with at most one <c>::</c>, optionally ending in dotted IPv4.
/// </summary>
internal static class AddressText
{
    /// <summary>Four dotted decimal octets, e.g. <c>192.0.2.1</c>.</summary>
    public static bool TryParseIPv4(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        int octets = 0;
        int i = 0;
        while (true)
        {
            int start = i;
            int octet = 0;
            while (i < text.Length && i - start < 4 && (uint)(text[i] - '0') <= 9)
            {
                octet = (octet * 10) + (text[i] - '0');
                i++;
            }

            int digits = i - start;
            if (digits == 0 || digits > 3 || octet > 255 || (digits > 1 && text[start] == '0'))
            {
                return false;
            }

            value = (value << 8) | (uint)octet;
            octets++;
            if (octets == 4)
            {
                return i == text.Length;
            }

            if (i == text.Length || text[i] != '.')
            {
                return false;
            }

            i++;
        }
    }

    /// <summary>An IPv6 address in text form, e.g. <c>2001:db8::1</c> or <c>::ffff:192.0.2.1</c>.</summary>
    public static bool TryParseIPv6(ReadOnlySpan<byte> text, out UInt128 value)
    {
        value = 0;
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        if (text.Length < 2)
        {
            return false;
        }

        if (text[0] == ':')
        {
            if (text[1] != ':')
            {
                return false;
            }

            gap = 0;
            i = 2;
        }

        while (i < text.Length)
        {
            int start = i;
            int group = 0;
            while (i < text.Length && i - start < 5 && HexValue(text[i]) is var digit and >= 0)
            {
                group = (group << 4) | digit;
                i++;
            }

            if (i < text.Length && text[i] == '.')
            {
                // Dotted IPv4 in the last 32 bits.
                if (count > 6 || !TryParseIPv4(text[start..], out uint v4))
                {
                    return false;
                }

                groups[count++] = (ushort)(v4 >> 16);
                groups[count++] = (ushort)v4;
                break;
            }

            int digits = i - start;
            if (digits is 0 or > 4 || count == 8)
            {
                return false;
            }

            groups[count++] = (ushort)group;
            if (i == text.Length)
            {
                break;
            }

            if (text[i] != ':')
            {
                return false;
            }

            i++;
            if (i < text.Length && text[i] == ':')
            {
                if (gap >= 0)
                {
                    return false;
                }

                gap = count;
                i++;
            }
            else if (i == text.Length)
            {
                // One trailing colon.
                return false;
            }
        }

        if (gap < 0 ? count != 8 : count > 7)
        {
            return false;
        }

        int tail = gap < 0 ? 0 : count - gap;
        int head = count - tail;
        for (int g = 0; g < 8; g++)
        {
            ushort part = g < head ? groups[g] : g >= 8 - tail ? groups[head + g - (8 - tail)] : (ushort)0;
            value = (value << 16) | part;
        }

        return true;
    }

    /// <summary>A port: decimal 0..65535 without leading zeros.</summary>
    public static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        int value = 0;
        foreach (byte b in text)
        {
            if ((uint)(b - '0') > 9)
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        if (value > ushort.MaxValue)
        {
            return false;
        }

        port = (ushort)value;
        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
