namespace PipeBalancer.Configuration;

/// <summary>One entry of <c>listeners[]</c>.</summary>
/// <param name="Name">Unique name.</param>
/// <param name="Address">Where connections are accepted.</param>
/// <param name="Mode">HTTP (the default) or TCP.</param>
internal sealed record ListenerConfig(string Name, HostPort Address, ListenerMode Mode = ListenerMode.Http)
{
    /// <summary>TLS termination for this listener, or null for plain TCP.</summary>
    public TlsConfig? Tls { get; init; }

    /// <summary>PROXY headers taken from trusted sources, or null when the listener takes none.</summary>
    public ListenerProxyProtocolConfig? ProxyProtocol { get; init; }

    internal static readonly ConfigSchema<ListenerConfig> Schema = new(new(null!, null!),
    [
        new StringSetting<ListenerConfig>("name", c => c.Name, (c, v) => c with { Name = v! }) { Required = true },
        new TextSetting<ListenerConfig, HostPort>("address", "address", AddressSyntax.Listen, AddressSyntax.Format, c => c.Address, (c, v) => c with { Address = v })
        {
            Required = true,
        },
        new ChoiceSetting<ListenerConfig, ListenerMode>("mode", [("http", ListenerMode.Http), ("tcp", ListenerMode.Tcp)], c => c.Mode, (c, v) => c with { Mode = v }),
        new ObjectSetting<ListenerConfig, TlsConfig>("tls", TlsConfig.Schema, c => c.Tls, (c, v) => c with { Tls = v }, _ => TlsConfig.Schema.Defaults),
        new ObjectSetting<ListenerConfig, ListenerProxyProtocolConfig>("proxyProtocol", ListenerProxyProtocolConfig.Schema, c => c.ProxyProtocol,
            (c, v) => c with { ProxyProtocol = v }, _ => ListenerProxyProtocolConfig.Schema.Defaults),
    ]);
}
