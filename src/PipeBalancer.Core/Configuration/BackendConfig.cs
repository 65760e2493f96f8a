using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Configuration;

/// <summary>One entry of <c>backends[]</c>.</summary>
/// <param name="Id">Unique id; the ring places the server's points from it.</param>
/// <param name="Address">Where the server is.</param>
/// <param name="Weight">Relative share of keys or requests.</param>
internal sealed record BackendConfig(string Id, HostPort Address, int Weight = 1)
{
    /// <summary>Whether the backend is draining: no new requests, in-flight ones finish, idle connections close.</summary>
    public bool Drain { get; init; }

    /// <summary>This backend's health checks when <c>backends[i].health</c> overrides the <c>health</c> section, else null.</summary>
    public HealthConfig? Health { get; init; }

    /// <summary>The PROXY header sent on each new connection to it; <see cref="ProxySend.Inherit"/> takes the <c>proxyProtocol</c> section's.</summary>
    public ProxySend ProxyProtocol { get; init; } = ProxySend.Inherit;

    /// <summary>The header it is sent, given the <c>proxyProtocol</c> section in force.</summary>
    public ProxySend SendsProxy(ProxyProtocolConfig section) => ProxyProtocol == ProxySend.Inherit ? section.Send : ProxyProtocol;

    /// <summary>
    /// The <c>discovery</c> group that found this backend through DNS, or null for an entry of
    /// lb.json or of the admin API. Not a setting: such entries are made at run time.
    /// </summary>
    public string? Group { get; init; }

    internal static readonly ConfigSchema<BackendConfig> Schema = new(new(null!, null!),
    [
        new StringSetting<BackendConfig>("id", c => c.Id, (c, v) => c with { Id = v! }) { Required = true },
        new TextSetting<BackendConfig, HostPort>("address", "address", AddressSyntax.Connect, AddressSyntax.Format, c => c.Address, (c, v) => c with { Address = v })
        {
            Required = true,
        },
        new IntSetting<BackendConfig>("weight", 1, 1000, c => c.Weight, (c, v) => c with { Weight = v }),
        new BoolSetting<BackendConfig>("drain", c => c.Drain, (c, v) => c with { Drain = v }),
        new ChoiceSetting<BackendConfig, ProxySend>("proxyProtocol", [("inherit", ProxySend.Inherit), .. ProxyProtocolConfig.Choices],
            c => c.ProxyProtocol, (c, v) => c with { ProxyProtocol = v }),

        // Read over the health section: only the properties given differ from it.
        new ObjectSetting<BackendConfig, HealthConfig>("health", HealthConfig.Schema, c => c.Health, (c, v) => c with { Health = v }, reader => reader.Root.Health)
        {
            Overrides = true,
        },
    ]);
}
