using System.Globalization;
using System.Net;

namespace PipeBalancer.Configuration;

/// <summary>
/// An address as written in lb.json: <c>host:port</c>, <c>[v6]:port</c>, or <c>*:port</c> for
/// listeners. <see cref="Text"/> keeps the exact text, because the nginx algorithm hashes it.
/// </summary>
internal sealed record HostPort(string Host, int Port)
{
    /// <summary>The address as it was written (or as it would be written for a built one).</summary>
    public string Text { get; init; } = Format(Host, Port);

    /// <summary>The host as an IP address, or null for a DNS name or <c>*</c>.</summary>
    public IPAddress? IPAddress => System.Net.IPAddress.TryParse(Host, out var ip) ? ip : null;

    /// <inheritdoc />
    public override string ToString() => Text;

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, bool allowAnyHost, out HostPort? result, out string? error)
    {
        result = null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = "must be host:port (e.g. 127.0.0.1:8001 or [::1]:8001)";
            return false;
        }

        string host = text[..colon];
        string portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            error = $"port must be a number 0..65535, got '{portText}'";
            return false;
        }

        if (host.StartsWith('['))
        {
            if (!host.EndsWith(']') || !System.Net.IPAddress.TryParse(host[1..^1], out var v6) ||
                v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"'{host}' is not a bracketed IPv6 address";
                return false;
            }

            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            error = "an IPv6 address must be in brackets, e.g. [::1]:8001";
            return false;
        }
        else if (host == "*")
        {
            if (!allowAnyHost)
            {
                error = "'*' (any address) is only valid for listeners";
                return false;
            }
        }
        else if (!System.Net.IPAddress.TryParse(host, out _) && !IsDnsName(host))
        {
            error = $"'{host}' is neither an IP address nor a valid host name";
            return false;
        }

        result = new HostPort(host, port) { Text = text };
        error = null;
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> DigitsAndDots = System.Buffers.SearchValues.Create("0123456789.");

    private static string Format(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");

    // RFC 1123 host names: dot-separated labels of letters, digits and hyphens, 1..63 each,
    // no leading or trailing hyphen, 253 characters in all.
    private static bool IsDnsName(string host)
    {
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var range in host.AsSpan().Split('.'))
        {
            var label = host.AsSpan()[range];
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }
        }

        // A name made only of digits and dots is a malformed IPv4 address, not a host name.
        return host.AsSpan().ContainsAnyExcept(DigitsAndDots);
    }
}
