using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Configuration;

/// <summary>
/// <c>listeners[].proxyProtocol</c>: the listener takes a PROXY header from the sources in
/// <see cref="TrustedNetworks"/> (the balancers or load balancers in front), and only from them.
/// </summary>
/// <param name="TrustedNetworks">CIDR networks (or single addresses) that must send a header; any other source must not.</param>
/// <param name="Accept">The versions taken.</param>
internal sealed record ListenerProxyProtocolConfig(IReadOnlyList<string> TrustedNetworks, ProxyVersions Accept = ProxyVersions.Any)
{
    internal static readonly ConfigSchema<ListenerProxyProtocolConfig> Schema = new(new([]),
    [
        new ChoiceSetting<ListenerProxyProtocolConfig, ProxyVersions>("accept", [("v1", ProxyVersions.V1), ("v2", ProxyVersions.V2), ("any", ProxyVersions.Any)],
            c => c.Accept, (c, v) => c with { Accept = v }),
        new StringListSetting<ListenerProxyProtocolConfig>("trustedNetworks", "an array of networks", c => c.TrustedNetworks, (c, v) => c with { TrustedNetworks = v })
        {
            Required = true,
        },
    ]);

    // By value, list included: a reload that leaves the listener as it was must not restart it.
    public bool Equals(ListenerProxyProtocolConfig? other) =>
        other is not null && Accept == other.Accept && (TrustedNetworks ?? []).SequenceEqual(other.TrustedNetworks ?? []);

    public override int GetHashCode() => HashCode.Combine(Accept, TrustedNetworks?.Count ?? 0);
}
