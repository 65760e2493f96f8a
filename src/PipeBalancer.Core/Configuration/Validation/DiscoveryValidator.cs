namespace PipeBalancer.Configuration;

/// <summary>
/// Discovery groups: a unique group name, one kind of lookup (SRV, or a name with a port),
/// names DNS can ask for, a resolver given by address, and a refresh floor below its cap.
/// </summary>
internal static class DiscoveryValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var groups = draft.Config.Discovery;
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < groups.Count; i++)
        {
            var group = groups[i];
            string path = draft.PathOf("discovery", i);
            if (EntryRules.CheckName(group.Group, path + ".group", issues))
            {
                EntryRules.CheckUnique(names, group.Group, path, "group", group.Group, issues);
            }

            CheckLookup(group, path, issues);
            if (group.Resolver is { } resolver)
            {
                if (resolver.IPAddress is null)
                {
                    issues.Error(path + ".resolver", $"must be an IP address and port (a resolver cannot be found by name), got \"{resolver.Text}\"");
                }
                else if (resolver.Port == 0)
                {
                    issues.Error(path + ".resolver", $"port must be 1..65535, got \"{resolver.Text}\"");
                }
            }

            if (group.MinRefreshMs > group.MaxRefreshMs)
            {
                issues.Error(path + ".maxRefreshMs", $"must be at least minRefreshMs ({group.MinRefreshMs}), got {group.MaxRefreshMs}");
            }
        }
    }

    private static void CheckLookup(DiscoveryConfig group, string path, ConfigIssues issues)
    {
        if (group.Srv is null && group.Name is null)
        {
            issues.Error(path, "needs \"srv\" (SRV records give ports and weights) or \"name\" with \"port\" (A and AAAA records)");
            return;
        }

        if (group.Srv is not null && group.Name is not null)
        {
            issues.Error(path + ".name", "give either \"srv\" or \"name\", not both");
            return;
        }

        if (group.Srv is { } srv)
        {
            CheckDnsName(srv, path + ".srv", issues);
            // Judged by value, not by presence: the printed configuration fills in the defaults
            // (port 0, weight 1) and must read back.
            var defaults = DiscoveryConfig.Schema.Defaults;
            if (group.Port != defaults.Port)
            {
                issues.Error(path + ".port", "comes from each SRV record; leave it out with \"srv\"");
            }

            if (group.Weight != defaults.Weight)
            {
                issues.Error(path + ".weight", "comes from each SRV record; leave it out with \"srv\"");
            }
        }
        else
        {
            CheckDnsName(group.Name!, path + ".name", issues);
            if (group.Port == 0)
            {
                issues.Error(path + ".port", "is required with \"name\": the port every address found serves on, 1..65535");
            }
        }
    }

    // What DNS can ask for: dot-separated labels of letters, digits, '-' and '_' (SRV names
    // start with "_service._proto"), 1..63 each, 253 characters in all, an optional final dot.
    private static void CheckDnsName(string name, string path, ConfigIssues issues)
    {
        string bare = name.EndsWith('.') ? name[..^1] : name;
        bool valid = bare.Length is > 0 and <= 253 &&
            bare.Split('.').All(label => label.Length is > 0 and <= 63 && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
        if (!valid)
        {
            issues.Error(path, $"must be a DNS name (labels of letters, digits, '-' or '_', 253 characters at most), got \"{name}\"");
        }
        else if (System.Net.IPAddress.TryParse(bare, out _))
        {
            issues.Error(path, $"must be a DNS name to look up, not an address, got \"{name}\"");
        }
    }
}
