using System.Net;
using System.Net.Sockets;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// The source networks a listener takes PROXY headers from, as written in lb.json: CIDR
/// (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or one address (<c>192.0.2.7</c>, a /32 or /128).
/// </summary>
internal static class TrustedNetworks
{
    /// <summary>Parses one entry, or says why it cannot.</summary>
    public static bool TryParse(string text, out IPNetwork network, out string? error)
    {
        network = default;
        error = null;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address) &&
            (address.AddressFamily == AddressFamily.InterNetwork || address.ScopeId == 0))
        {
            if (slash < 0)
            {
                network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
                return true;
            }

            // The network's own address, not a host in it: 10.0.0.1/8 is more likely a typo than 10.0.0.0/8.
            if (IPNetwork.TryParse(text, out network) && network.BaseAddress.Equals(address))
            {
                return true;
            }
        }

        error = $"must be a network in CIDR notation (10.0.0.0/8, 2001:db8::/32; no bits set after the prefix) or one IP address, got \"{text}\"";
        return false;
    }

    /// <summary>Parses entries that validation has accepted.</summary>
    public static IPNetwork[] Parse(IReadOnlyList<string> entries) =>
        [.. entries.Select(e => TryParse(e, out var network, out string? error) ? network : throw new ArgumentException(error, nameof(entries)))];

    /// <summary>Whether <paramref name="address"/> (IPv4-mapped IPv6 counts as IPv4) is in one of <paramref name="networks"/>.</summary>
    public static bool Contains(IPNetwork[] networks, IPAddress address)
    {
        var v4 = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : null;
        foreach (var network in networks)
        {
            if (network.Contains(address) || (v4 is not null && network.Contains(v4)))
            {
                return true;
            }
        }

        return false;
    }
}
