using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Configuration;

/// <summary>The <c>proxyProtocol</c> section: the PROXY header sent to every backend that does not choose its own.</summary>
/// <param name="Send">The header sent first on each new backend connection.</param>
internal sealed record ProxyProtocolConfig(ProxySend Send = ProxySend.Off)
{
    /// <summary>No header sent.</summary>
    public static readonly ProxyProtocolConfig Default = new();

    /// <summary>The choices of <c>proxyProtocol.send</c>.</summary>
    internal static readonly IReadOnlyList<(string Name, ProxySend Value)> Choices = [("off", ProxySend.Off), ("v1", ProxySend.V1), ("v2", ProxySend.V2)];

    internal static readonly ConfigSchema<ProxyProtocolConfig> Schema = new(Default,
    [
        new ChoiceSetting<ProxyProtocolConfig, ProxySend>("send", Choices, c => c.Send, (c, v) => c with { Send = v }),
    ]);
}
