using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Backends;

/// <summary>
/// The backends of one configuration with the routing table over them: what a request needs
/// to choose and reach a server. Health and load are answered from the backends' own counters.
/// </summary>
public sealed class BackendSet : IServerView, IDisposable
{
    private readonly Backend[] _backends;
    private readonly BackendTotals _totals;
    private readonly int _panicBelow;
    private readonly BalancerConfig _config;
    private readonly double[] _shares;
    private readonly Lock _shareLock = new();
    private volatile Router _router;

    /// <summary>Builds the backends and the routing table of <paramref name="config"/>.</summary>
    public BackendSet(BalancerConfig config, TimeProvider? time = null)
    {
        _totals = new BackendTotals(config.Backends.Count, trackInFlight: config.Routing.Algorithm == RoutingAlgorithm.RingBounded);
        _backends = config.Backends.Select(b => new Backend(b, config.Pool.MaxIdlePerBackend, _totals, config.Circuit, time)).ToArray();
        _config = config;
        _shares = Enumerable.Repeat(1.0, config.Backends.Count).ToArray();
        _router = Router.Create(config.Routing, config.Backends);
        _panicBelow = config.Health.PanicThresholdPercent == 0 ? 0 : (int)Math.Ceiling(config.Backends.Count * config.Health.PanicThresholdPercent / 100.0);
    }

    /// <summary>The routing table in force: replaced whole (one reference write) when a share changes.</summary>
    public Router Router => _router;

    /// <summary>The part of its points each backend has now (1 unless slow start is ramping it).</summary>
    public IReadOnlyList<double> Shares => _shares;

    /// <summary>
    /// Sets backend <paramref name="index"/>'s share of its points and publishes a table built
    /// with it. Lookups in flight finish on the table they read.
    /// </summary>
    public void SetShare(int index, double share)
    {
        lock (_shareLock)
        {
            if (_shares[index] == share)
            {
                return;
            }

            _shares[index] = share;
            _router = Router.Create(_config.Routing, _config.Backends, shares: _shares.All(x => x >= 1) ? null : (double[])_shares.Clone());
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

    /// <inheritdoc />
    public bool IsEligible(int server) => _backends[server].Eligible || (InPanic && !_backends[server].Draining);

    /// <summary>
    /// Whether panic mode is on: fewer than <c>health.panicThresholdPercent</c> of the backends
    /// are eligible, so every backend not draining is treated as eligible.
    /// </summary>
    public bool InPanic => _panicBelow > 0 && Volatile.Read(ref _totals.EligibleCount) < _panicBelow;

    /// <inheritdoc />
    public int InFlight(int server) => _backends[server].InFlight;

    private int SumInFlight()
    {
        int total = 0;
        foreach (var b in _backends)
        {
            total += b.InFlight;
        }

        return total;
    }

    /// <summary>Closes idle connections unused since before <paramref name="idleSince"/>.</summary>
    public void SweepIdle(long idleSince)
    {
        foreach (var b in _backends)
        {
            b.Pool.Sweep(idleSince);
        }
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
