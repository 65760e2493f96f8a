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

    /// <summary>Builds the backends and the routing table of <paramref name="config"/>.</summary>
    public BackendSet(BalancerConfig config, TimeProvider? time = null)
    {
        _totals = new BackendTotals(config.Backends.Count, trackInFlight: config.Routing.Algorithm == RoutingAlgorithm.RingBounded);
        _backends = config.Backends.Select(b => new Backend(b, config.Pool.MaxIdlePerBackend, _totals, config.Circuit, time)).ToArray();
        Router = Router.Create(config.Routing, config.Backends);
        _panicBelow = config.Health.PanicThresholdPercent == 0 ? 0 : (int)Math.Ceiling(config.Backends.Count * config.Health.PanicThresholdPercent / 100.0);
    }

    /// <summary>The routing table.</summary>
    public Router Router { get; }

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
