using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Backends;

/// <summary>
/// The backends of one configuration with the routing table over them: what a request needs
/// to choose and reach a server. Health and load are answered from the backends' own counters.
/// A new configuration builds a new set that keeps the <see cref="Backend"/> objects of the
/// servers it still has (same id and address), with their health, counters and pools.
/// </summary>
internal sealed class BackendSet : IServerView, IDisposable
{
    private readonly Backend[] _backends;
    private readonly BackendTotals _totals;
    private readonly int _panicBelow;
    private readonly BalancerConfig _config;
    private readonly Lock _shareLock = new();
    private volatile Router _router;

    /// <summary>Builds the backends and the routing table of <paramref name="config"/>.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="time">The clock for circuit breakers (a fake one in tests).</param>
    /// <param name="previous">The set in force before, whose backends are kept where the new configuration still has them.</param>
    /// <param name="retired">Backends removed earlier, taken back when the configuration has them again (same id and address): their counters go on, their health and circuit start over.</param>
    /// <param name="logger">Where backends log their circuit changes.</param>
    public BackendSet(BalancerConfig config, TimeProvider? time = null, BackendSet? previous = null, IEnumerable<Backend>? retired = null,
        Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        _totals = new BackendTotals(trackInFlight: config.Routing.Algorithm == RoutingAlgorithm.RingBounded);
        _backends = new Backend[config.Backends.Count];
        for (int i = 0; i < _backends.Length; i++)
        {
            var entry = config.Backends[i];
            var kept = previous?.Find(entry.Id);
            if (kept is null || kept.Config.Address != entry.Address)
            {
                kept = retired?.FirstOrDefault(b => b.Config.Id == entry.Id && b.Config.Address == entry.Address);
                kept?.Revive();
            }

            if (kept is not null && kept.Config.Address == entry.Address)
            {
                kept.Update(entry);
                kept.MoveTo(_totals);
                _backends[i] = kept;
            }
            else
            {
                _backends[i] = new Backend(entry, config.Pool.MaxIdlePerBackend, _totals, config.Circuit, time, logger);
            }
        }

        _config = config;
        _router = CreateRouter();
        _panicBelow = config.Health.PanicThresholdPercent == 0 ? 0 : (int)Math.Ceiling(config.Backends.Count * config.Health.PanicThresholdPercent / 100.0);
    }

    /// <summary>The routing table in force: replaced whole (one reference write) when a share changes.</summary>
    public Router Router => _router;

    /// <summary>The part of its points each backend has now (1 unless slow start is ramping it).</summary>
    public IReadOnlyList<double> Shares => _backends.Select(b => b.Share).ToArray();

    /// <summary>
    /// Sets backend <paramref name="index"/>'s share of its points and publishes a table built
    /// with it. Lookups in flight finish on the table they read.
    /// </summary>
    public void SetShare(int index, double share)
    {
        lock (_shareLock)
        {
            if (_backends[index].Share == share)
            {
                return;
            }

            _backends[index].Share = share;
            _router = CreateRouter();
        }
    }

    /// <summary>The backends, indexed as the router's servers.</summary>
    public IReadOnlyList<Backend> Backends => _backends;

    /// <inheritdoc />
    public int EligibleCount => Volatile.Read(ref _totals.EligibleCount);

    /// <inheritdoc />
    public int TotalInFlight => _totals.TrackInFlight ? Volatile.Read(ref _totals.TotalInFlight) : SumInFlight();

    /// <summary>The backend at <paramref name="index"/>.</summary>
    public Backend this[int index] => _backends[index];

    /// <summary>The index of <paramref name="backend"/> in this set, or -1.</summary>
    public int IndexOf(Backend backend) => Array.IndexOf(_backends, backend);

    /// <summary>The backend with id <paramref name="id"/>, or null.</summary>
    public Backend? Find(string id)
    {
        foreach (var b in _backends)
        {
            if (string.Equals(b.Config.Id, id, StringComparison.Ordinal))
            {
                return b;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public bool IsEligible(int server) => _backends[server].Eligible || (InPanic && !_backends[server].Draining);

    /// <summary>
    /// Whether panic mode is on: fewer than <c>health.panicThresholdPercent</c> of the backends
    /// are eligible, so every backend not draining is treated as eligible.
    /// </summary>
    public bool InPanic => _panicBelow > 0 && Volatile.Read(ref _totals.EligibleCount) < _panicBelow;

    /// <inheritdoc />
    public int InFlight(int server) => _backends[server].InFlight;

    private Router CreateRouter()
    {
        bool ramping = false;
        foreach (var b in _backends)
        {
            ramping |= b.Share < 1;
        }

        return Router.Create(_config.Routing, _config.Backends, shares: ramping ? _backends.Select(b => b.Share).ToArray() : null);
    }

    private int SumInFlight()
    {
        int total = 0;
        foreach (var b in _backends)
        {
            total += b.InFlight;
        }

        return total;
    }

    /// <summary>Closes idle connections unused since before <paramref name="idleSince"/>; returns when the oldest one left went idle (long.MaxValue: none is left).</summary>
    public long SweepIdle(long idleSince)
    {
        long oldest = long.MaxValue;
        foreach (var b in _backends)
        {
            oldest = Math.Min(oldest, b.Pool.Sweep(idleSince));
        }

        return oldest;
    }

    /// <summary>Closes every idle connection.</summary>
    public void Dispose()
    {
        foreach (var b in _backends)
        {
            b.Dispose();
        }
    }
}
