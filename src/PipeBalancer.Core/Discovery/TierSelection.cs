namespace PipeBalancer.Discovery;

/// <summary>
/// SRV priorities: the targets of the lowest priority value are used; those of the next value
/// join only while every target of the values before is ineligible (down, circuit open or
/// draining), and leave when one of them is eligible again.
/// </summary>
internal static class TierSelection
{
    /// <summary>The targets to route over, given which backend ids are eligible now.</summary>
    public static IReadOnlyList<DiscoveredTarget> Choose(IReadOnlyList<DiscoveredTarget> targets, Func<string, bool> eligible)
    {
        var chosen = new List<DiscoveredTarget>();
        foreach (var tier in targets.GroupBy(t => t.Priority).OrderBy(g => g.Key))
        {
            chosen.AddRange(tier);
            if (tier.Any(t => eligible(t.Id)))
            {
                break;
            }
        }

        return chosen;
    }

    /// <summary>Whether <paramref name="targets"/> hold more than one priority value (the choice can change with health).</summary>
    public static bool HasTiers(IReadOnlyList<DiscoveredTarget> targets) => targets.Select(t => t.Priority).Distinct().Skip(1).Any();
}
