using PipeBalancer.Configuration;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// The rate limiters of one configuration in force, and which apply to each listener. Built
/// again on every reload: a limiter whose settings did not change is carried over whole, its
/// buckets and counters with it; a changed one starts with full buckets and zero counters.
/// </summary>
internal sealed class RateLimiterSet
{
    /// <summary>No limiters.</summary>
    public static readonly RateLimiterSet Empty = new([]);

    private readonly Dictionary<string, RateLimiter[]> _byListener;

    private RateLimiterSet(RateLimiter[] all)
    {
        All = all;
        _byListener = all
            .SelectMany(l => l.Config.Listeners.Select(name => (name, l)))
            .GroupBy(p => p.name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(p => p.l).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Every limiter, in lb.json's order.</summary>
    public IReadOnlyList<RateLimiter> All { get; }

    /// <summary>The limiters of <paramref name="previous"/> that <paramref name="configs"/> keeps unchanged, and new ones for the rest.</summary>
    public static RateLimiterSet Build(IReadOnlyList<RateLimitConfig> configs, RateLimiterSet? previous, TimeProvider time)
    {
        if (configs.Count == 0)
        {
            return Empty;
        }

        var limiters = new RateLimiter[configs.Count];
        for (int i = 0; i < configs.Count; i++)
        {
            var config = configs[i];
            limiters[i] = previous?.All.FirstOrDefault(l => l.Config.SameAs(config)) ?? new RateLimiter(config, time);
        }

        return new RateLimiterSet(limiters);
    }

    /// <summary>The limiters of listener <paramref name="listener"/>, in lb.json's order (empty when none).</summary>
    public RateLimiter[] For(string listener) => _byListener.TryGetValue(listener, out var limiters) ? limiters : [];
}
