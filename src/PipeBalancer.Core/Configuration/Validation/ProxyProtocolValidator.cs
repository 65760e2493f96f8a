using System.Globalization;
using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Configuration;

/// <summary>
/// PROXY protocol: each listener's trusted networks, and the PROXY headers sent to backends.
/// A header is sent once, when a backend connection opens, and names the client of that
/// moment; a connection that an <c>http</c> listener returns to the pool is later used for
/// other clients' requests, which the backend would then take for the first client's. That
/// mislabelling is refused here: sending a header with <c>http</c> listeners needs
/// <c>pool.maxIdlePerBackend</c> 0 (one backend connection per request). <c>tcp</c> listeners
/// open one backend connection per client connection and never pool it.
/// </summary>
internal static class ProxyProtocolValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var listeners = draft.Config.Listeners;
        for (int i = 0; i < listeners.Count; i++)
        {
            if (listeners[i].ProxyProtocol is { TrustedNetworks: { } networks })
            {
                CheckNetworks(networks, draft.PathOf("listeners", i) + ".proxyProtocol.trustedNetworks", issues);
            }
        }

        if (Pooled(draft.Config) is { } reason && draft.Config.ProxyProtocol.Send != ProxySend.Off &&
            draft.Config.Backends.Any(b => b.ProxyProtocol == ProxySend.Inherit))
        {
            issues.Error("proxyProtocol.send", reason);
        }

        ValidateBackends(draft, issues);
    }

    /// <summary>The backends' own <c>proxyProtocol</c> (lb.json, or an admin edit against the sections in force).</summary>
    public static void ValidateBackends(ConfigDraft draft, ConfigIssues issues)
    {
        if (Pooled(draft.Config) is not { } reason)
        {
            return;
        }

        var backends = draft.Config.Backends;
        for (int i = 0; i < backends.Count; i++)
        {
            if (backends[i].ProxyProtocol is ProxySend.V1 or ProxySend.V2)
            {
                issues.Error(draft.PathOf("backends", i) + ".proxyProtocol", reason);
            }
        }
    }

    private static void CheckNetworks(IReadOnlyList<string> networks, string path, ConfigIssues issues)
    {
        if (networks.Count == 0)
        {
            issues.Error(path, "must list at least one network: a PROXY header is taken only from the sources listed (the proxies in front)");
            return;
        }

        for (int j = 0; j < networks.Count; j++)
        {
            // A null item was not a string: the reader has said so.
            if (networks[j] is { } text && !TrustedNetworks.TryParse(text, out _, out string? error))
            {
                issues.Error(string.Create(CultureInfo.InvariantCulture, $"{path}[{j}]"), error!);
            }
        }
    }

    // Why a header cannot be sent with this configuration, or null when it can.
    private static string? Pooled(BalancerConfig config)
    {
        int pool = config.Pool.MaxIdlePerBackend;
        if (pool == 0 || !config.Listeners.Any(l => l.Mode == ListenerMode.Http))
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"a PROXY header names the client of the request that opened the backend connection, and http listeners pool backend connections for other clients (pool.maxIdlePerBackend is {pool}), so the backend would see their requests as that client's; set pool.maxIdlePerBackend to 0 (one backend connection per request) or serve these backends from tcp listeners only");
    }
}
