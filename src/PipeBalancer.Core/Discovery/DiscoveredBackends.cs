using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Discovery;

/// <summary>
/// Puts the backends found through DNS into a configuration: its own backends (lb.json's and
/// the admin API's) first, as they are, then each discovery group's in the order of
/// <c>discovery</c>, each group's sorted by id, so the list is the same on every instance that
/// sees the same records. A found backend whose id or address is already taken (by a listed
/// backend or an earlier group), or that would take the backends or the ring's points over
/// their limits, is left out and named in <c>dropped</c>.
/// </summary>
internal static class DiscoveredBackends
{
    /// <summary>
    /// <paramref name="config"/> with its found backends replaced by <paramref name="chosen"/>'s.
    /// A backend found before keeps its drain flag (set through the admin API) while the same
    /// group still finds it.
    /// </summary>
    public static BalancerConfig Merge(BalancerConfig config, Func<DiscoveryConfig, IReadOnlyList<DiscoveredTarget>> chosen, List<string> dropped)
    {
        var before = config.Backends.Where(b => b.Group is not null).ToDictionary(b => b.Id, StringComparer.Ordinal);
        var backends = config.Backends.Where(b => b.Group is null).ToList();
        var ids = backends.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        var addresses = backends.Select(b => EntryRules.Normalize(b.Address)).ToHashSet();

        // The ring's size is held to the limit lb.json is validated against: a found backend
        // that would take it over is left out, as one over the backend limit is.
        var routing = config.Routing;
        bool ring = routing.Algorithm is RoutingAlgorithm.Ring or RoutingAlgorithm.RingBounded or RoutingAlgorithm.Nginx;
        long points = backends.Sum(b => (long)b.Weight) * routing.VirtualNodes;
        foreach (var group in config.Discovery)
        {
            foreach (var target in chosen(group).OrderBy(t => t.Id, StringComparer.Ordinal))
            {
                var address = new HostPort(target.Address.ToString(), target.Port);

                // SRV weights are 0..65535 (RFC 2782); backend weights 1..1000.
                int weight = group.Srv is null ? group.Weight : Math.Clamp(target.Weight, 1, 1000);
                long added = ring ? (long)weight * routing.VirtualNodes : 0;
                if (backends.Count >= ConfigLoader.MaxBackends || points + added > ConfigLoader.MaxRingPoints ||
                    ids.Contains(target.Id) || addresses.Contains(EntryRules.Normalize(address)))
                {
                    dropped.Add($"{group.Group}: {target.Id} ({address})");
                    continue;
                }

                points += added;

                ids.Add(target.Id);
                addresses.Add(EntryRules.Normalize(address));
                bool drain = before.TryGetValue(target.Id, out var old) && old.Group == group.Group && old.Drain;
                backends.Add(new BackendConfig(target.Id, address, weight) { Group = group.Group, Drain = drain });
            }
        }

        return config with { Backends = backends };
    }
}
