using System.Buffers;

namespace PipeBalancer.Http1;

/// <summary>
/// Checks an authority as HTTP uses it in Host and in an absolute-form target (RFC 9110
/// section 7.2 and 4.2): <c>host [ ":" port ]</c> with host = IP-literal / IPv4address /
/// reg-name (RFC 3986 section 3.2.2) and port = digits up to 65535. No userinfo (RFC 9110
/// section 4.2.4), and the host may not be empty (an http URI always names one).
/// </summary>
internal static class Authority
{
    // reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is a reg-name too.
    private static readonly SearchValues<byte> RegNameBytes = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%"u8);

    // IPvFuture after "v" HEXDIG ".": 1*( unreserved / sub-delims / ":" ).
    private static readonly SearchValues<byte> FutureBytes = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:"u8);

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789ABCDEFabcdef"u8);

    /// <summary>Whether <paramref name="authority"/> is <c>host [ ":" port ]</c> with a non-empty host.</summary>
    public static bool IsValid(ReadOnlySpan<byte> authority)
    {
        if (authority.IsEmpty)
        {
            return false;
        }

        ReadOnlySpan<byte> host;
        ReadOnlySpan<byte> rest;
        if (authority[0] == (byte)'[')
        {
            int close = authority.IndexOf((byte)']');
            if (close < 0 || !IsIpLiteral(authority[1..close]))
            {
                return false;
            }

            host = authority[..(close + 1)];
            rest = authority[(close + 1)..];
        }
        else
        {
            int colon = authority.IndexOf((byte)':');
            host = colon < 0 ? authority : authority[..colon];
            rest = colon < 0 ? default : authority[colon..];
            if (host.IsEmpty || host.ContainsAnyExcept(RegNameBytes) || !PercentEscapesValid(host))
            {
                return false;
            }
        }

        return rest.IsEmpty || (rest[0] == (byte)':' && IsPort(rest[1..]));
    }

    // port = *DIGIT (RFC 3986); an empty port is allowed by the grammar, a number over 65535 is not a port.
    private static bool IsPort(ReadOnlySpan<byte> port)
    {
        int value = 0;
        foreach (byte b in port)
        {
            if ((uint)(b - '0') > 9)
            {
                return false;
            }

            value = (value * 10) + (b - '0');
            if (value > 65535)
            {
                return false;
            }
        }

        return true;
    }

    private static bool PercentEscapesValid(ReadOnlySpan<byte> text)
    {
        for (int i = text.IndexOf((byte)'%'); i >= 0;)
        {
            if (i + 2 >= text.Length || !HexDigits.Contains(text[i + 1]) || !HexDigits.Contains(text[i + 2]))
            {
                return false;
            }

            int next = text[(i + 3)..].IndexOf((byte)'%');
            i = next < 0 ? -1 : i + 3 + next;
        }

        return true;
    }

    // IP-literal = "[" ( IPv6address / IPvFuture ) "]"; zone identifiers are not accepted.
    private static bool IsIpLiteral(ReadOnlySpan<byte> inside)
    {
        if (inside.Length > 0 && (inside[0] | 0x20) == (byte)'v')
        {
            int dot = inside.IndexOf((byte)'.');
            return dot > 1 && !inside[1..dot].ContainsAnyExcept(HexDigits) &&
                dot + 1 < inside.Length && !inside[(dot + 1)..].ContainsAnyExcept(FutureBytes);
        }

        return IsIpv6(inside);
    }

    // RFC 3986 IPv6address: eight groups of 1-4 hex digits, "::" standing for one or more zero
    // groups at most once, and optionally an IPv4 address in place of the last two groups.
    private static bool IsIpv6(ReadOnlySpan<byte> text)
    {
        if (text.Length < 2)
        {
            return false;
        }

        int groups = 0;
        bool elided = false;
        int i = 0;
        if (text[0] == (byte)':')
        {
            if (text[1] != (byte)':')
            {
                return false;
            }

            elided = true;
            i = 2;
        }

        while (i < text.Length)
        {
            int end = i;
            while (end < text.Length && text[end] != (byte)':')
            {
                end++;
            }

            var group = text[i..end];
            if (end == text.Length && group.Contains((byte)'.'))
            {
                if (!IsIpv4(group))
                {
                    return false;
                }

                groups += 2;
                break;
            }

            if (group.IsEmpty || group.Length > 4 || group.ContainsAnyExcept(HexDigits))
            {
                return false;
            }

            groups++;
            if (end == text.Length)
            {
                break;
            }

            // After a group: ":" then another group, or "::" then the rest (possibly nothing).
            if (end + 1 < text.Length && text[end + 1] == (byte)':')
            {
                if (elided)
                {
                    return false;
                }

                elided = true;
                i = end + 2;
            }
            else if (end + 1 == text.Length)
            {
                return false;
            }
            else
            {
                i = end + 1;
            }
        }

        return elided ? groups <= 7 : groups == 8;
    }

    // IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros.
    private static bool IsIpv4(ReadOnlySpan<byte> text)
    {
        int octets = 0;
        foreach (var range in text.Split((byte)'.'))
        {
            var octet = text[range];
            if (octet.IsEmpty || octet.Length > 3 || (octet.Length > 1 && octet[0] == (byte)'0'))
            {
                return false;
            }

            int value = 0;
            foreach (byte b in octet)
            {
                if ((uint)(b - '0') > 9)
                {
                    return false;
                }

                value = (value * 10) + (b - '0');
            }

            if (value > 255 || ++octets > 4)
            {
                return false;
            }
        }

        return octets == 4;
    }
}
