using System.Globalization;
using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>Backends: present unless discovery gives them, ids, unique ids and addresses, a port to connect to, and the size of the routing table they make.</summary>
internal static class BackendValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var backends = draft.Config.Backends;
        if (backends.Count == 0 && draft.Config.Discovery.Count == 0)
        {
            // Backends come from the list, from discovery, or both.
            issues.Error("backends", draft.IsWritten("backends") ? "needs at least one entry" : "is required");
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var addresses = new Dictionary<(string, int), string>();
        for (int i = 0; i < backends.Count; i++)
        {
            var backend = backends[i];
            string path = draft.PathOf("backends", i);
            if (EntryRules.CheckName(backend.Id, path + ".id", issues))
            {
                EntryRules.CheckUnique(ids, backend.Id, path, "id", backend.Id, issues);
            }

            if (backend.Address is { } address)
            {
                if (address.Port == 0)
                {
                    issues.Error(path + ".address", $"port must be 1..65535, got \"{address.Text}\"");
                }
                else
                {
                    EntryRules.CheckUnique(addresses, EntryRules.Normalize(address), path, "address", address.Text, issues);
                }
            }
        }

        if (backends.Count > ConfigLoader.MaxBackends)
        {
            issues.Error("backends", string.Create(CultureInfo.InvariantCulture, $"at most {ConfigLoader.MaxBackends} backends, got {backends.Count}"));
        }

        var routing = draft.Config.Routing;
        if (routing.Algorithm is RoutingAlgorithm.Ring or RoutingAlgorithm.RingBounded or RoutingAlgorithm.Nginx)
        {
            long points = backends.Sum(b => (long)b.Weight) * routing.VirtualNodes;
            if (points > ConfigLoader.MaxRingPoints)
            {
                issues.Error("routing.virtualNodes", string.Create(CultureInfo.InvariantCulture,
                    $"virtualNodes x the sum of weights makes {points} ring points; at most {ConfigLoader.MaxRingPoints}"));
            }
        }
    }
}
