using PipeBalancer.Configuration;

namespace PipeBalancer.Discovery;

/// <summary>
/// When a group is looked up again: after an answer, when its records expire (the shortest
/// TTL), held within the group's floor and cap; after a failure, at the floor. Each interval is
/// then spread by +/- the group's jitter, so that instances started together do not ask at the
/// same instant.
/// </summary>
internal sealed class RefreshSchedule(DiscoveryConfig group, Random random)
{
    /// <summary>The delay before the next lookup after an answer whose records live <paramref name="ttl"/>.</summary>
    public TimeSpan AfterAnswer(TimeSpan ttl)
    {
        double ms = Math.Clamp(ttl.TotalMilliseconds, group.MinRefreshMs, group.MaxRefreshMs);
        return Spread(ms);
    }

    /// <summary>The delay before the next try after a failed lookup.</summary>
    public TimeSpan AfterFailure() => Spread(group.MinRefreshMs);

    private TimeSpan Spread(double ms) => TimeSpan.FromMilliseconds(ms * (1 + (group.Jitter * ((2 * random.NextDouble()) - 1))));
}
