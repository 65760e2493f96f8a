using System.Globalization;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Configuration;

/// <summary>
/// Rate limits: unique names, listeners that exist (a TCP listener only with <c>client-ip</c>:
/// a connection has no header, cookie or path), and allow-lists and overrides that parse (CIDRs
/// for <c>client-ip</c>, values for the other keys).
/// </summary>
internal static class RateLimitValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var limits = draft.Config.RateLimits;
        var listeners = draft.Config.Listeners.Where(l => l.Name is not null).GroupBy(l => l.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < limits.Count; i++)
        {
            var limit = limits[i];
            string path = draft.PathOf("rateLimits", i);
            if (EntryRules.CheckName(limit.Name, path + ".name", issues))
            {
                EntryRules.CheckUnique(names, limit.Name, path, "name", limit.Name, issues);
            }

            if (limit.Listeners is { } named)
            {
                CheckListeners(limit, named, listeners, path + ".listeners", issues);
            }

            bool byAddress = limit.Key.Kind == LimitKeyKind.ClientIp;
            CheckMatches(limit.Allow, byAddress, path + ".allow", issues);
            for (int o = 0; o < limit.Overrides.Count; o++)
            {
                string overridePath = draft.PathOf(path + ".overrides", o) + ".match";
                if (limit.Overrides[o].Match is { } match)
                {
                    if (match.Count == 0)
                    {
                        issues.Error(overridePath, "needs at least one CIDR or key value");
                    }

                    CheckMatches(match, byAddress, overridePath, issues);
                }
            }

            if (limit.Key.Kind != LimitKeyKind.PathPrefix && draft.IsWritten(path + ".pathSegments"))
            {
                issues.Warn(path + ".pathSegments", "only the path-prefix key uses it; ignored");
            }
        }
    }

    private static void CheckListeners(RateLimitConfig limit, IReadOnlyList<string> named, Dictionary<string, ListenerConfig> listeners, string path, ConfigIssues issues)
    {
        if (named.Count == 0)
        {
            issues.Error(path, "needs at least one listener name");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int j = 0; j < named.Count; j++)
        {
            string item = string.Create(CultureInfo.InvariantCulture, $"{path}[{j}]");
            if (named[j] is not { } name)
            {
                continue;
            }

            if (!seen.Add(name))
            {
                issues.Error(item, $"listener '{name}' is named twice");
            }
            else if (!listeners.TryGetValue(name, out var listener))
            {
                string known = listeners.Count == 0 ? "none" : string.Join(", ", listeners.Keys.Select(k => $"'{k}'"));
                issues.Error(item, $"no listener named '{name}' (listeners: {known})");
            }
            else if (listener.Mode == ListenerMode.Tcp && limit.Key.Kind != LimitKeyKind.ClientIp)
            {
                issues.Error(item, $"listener '{name}' is a tcp listener: it can only be limited by client-ip, not by {limit.Key}");
            }
        }
    }

    private static void CheckMatches(IReadOnlyList<string> items, bool byAddress, string path, ConfigIssues issues)
    {
        for (int j = 0; j < items.Count; j++)
        {
            string item = string.Create(CultureInfo.InvariantCulture, $"{path}[{j}]");
            if (items[j] is not { } text)
            {
                continue;
            }

            if (byAddress)
            {
                if (!AddressRange.TryParse(text, out _, out string? error))
                {
                    issues.Error(item, error! + "; a client-ip limiter matches client addresses");
                }
            }
            else if (text.Length == 0)
            {
                issues.Error(item, "an empty key value matches nothing");
            }
        }
    }
}
