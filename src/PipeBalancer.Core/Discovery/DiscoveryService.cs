using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Runtime;

namespace PipeBalancer.Discovery;

/// <summary>
/// Runs one <see cref="GroupWatch"/> per <c>discovery</c> group and puts the backends they find
/// in force through <see cref="ProxyState"/>'s snapshot swap, as reloads and admin edits are:
/// requests in flight finish, backends that stay keep their state, new ones get health checks.
/// A file reload keeps each remaining group's last known set (<see cref="Expand"/>); groups added
/// by a reload start, removed ones stop.
/// </summary>
internal sealed class DiscoveryService : IAsyncDisposable
{
    // How often SRV priorities are weighed against health: a lower priority joins within this
    // time of the last eligible target of the ones before it going out.
    private static readonly TimeSpan TierCheckPeriod = TimeSpan.FromSeconds(1);

    private readonly ProxyState _state;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Func<DiscoveryConfig, Func<CancellationToken, Task<LookupResult>>> _lookups;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GroupWatch> _watches = new(StringComparer.Ordinal);
    private string _lastDropped = "";
    private bool _started;
    private bool _disposed;
    private ITimer? _tierTimer;

    /// <summary>Creates the service for <paramref name="state"/>; nothing is looked up before <see cref="StartAsync"/>.</summary>
    /// <param name="state">Where the found backends are put in force.</param>
    /// <param name="logger">Where lookups' changes of state are logged.</param>
    /// <param name="time">The clock (a fake one in tests).</param>
    /// <param name="random">The source of the refresh jitter.</param>
    /// <param name="lookups">Makes a group's lookup; DNS through <see cref="DnsLookup"/> when null.</param>
    public DiscoveryService(ProxyState state, ILogger logger, TimeProvider time, Random random,
        Func<DiscoveryConfig, Func<CancellationToken, Task<LookupResult>>>? lookups = null)
    {
        _state = state;
        _logger = logger;
        _time = time;
        _random = random;
        _lookups = lookups ?? (group => new DnsLookup(group).LookupAsync);
    }

    /// <summary>The groups watched now, in no particular order.</summary>
    public IReadOnlyList<GroupWatch> Groups
    {
        get
        {
            lock (_lock)
            {
                return [.. _watches.Values];
            }
        }
    }

    /// <summary>
    /// Starts a watch per group of the configuration in force and waits for each group's first
    /// lookup to end (each is bounded by the group's <c>timeoutMs</c>), so that the listeners
    /// open with the backends DNS gives. A group whose first lookup failed starts empty and
    /// keeps trying.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _started = true;
        }

        Reconcile(_state.Current.Config.Discovery);
        await Task.WhenAll(Groups.Select(g => g.FirstLookup)).WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_disposed)
            {
                _tierTimer ??= _time.CreateTimer(_ => CheckTiers(), null, TierCheckPeriod, TierCheckPeriod);
            }
        }
    }

    /// <summary>
    /// Watches <paramref name="groups"/>: new groups start, removed ones stop, a changed group
    /// starts again with the set it had (only a successful answer changes a set). Nothing
    /// before <see cref="StartAsync"/>.
    /// </summary>
    public void Reconcile(IReadOnlyList<DiscoveryConfig> groups)
    {
        var stopped = new List<GroupWatch>();
        lock (_lock)
        {
            if (!_started || _disposed)
            {
                return;
            }

            foreach (var name in _watches.Keys.Except(groups.Select(g => g.Group)).ToList())
            {
                stopped.Add(_watches[name]);
                _watches.Remove(name);
            }

            foreach (var group in groups)
            {
                var state = new GroupState();
                if (_watches.TryGetValue(group.Group, out var old))
                {
                    if (old.Config == group)
                    {
                        continue;
                    }

                    stopped.Add(old);
                    state = old.State;
                }

                var watch = new GroupWatch(group, state, _lookups(group), _time, _random, _ => Publish(), _logger);
                _watches[group.Group] = watch;
                watch.Start();
            }
        }

        foreach (var watch in stopped)
        {
            _ = watch.DisposeAsync().AsTask();
        }
    }

    /// <summary>
    /// <paramref name="config"/> with the backends its groups have found: what a reload puts in
    /// force, and what each change of a set re-applies. Runs under the state's lock.
    /// </summary>
    public BalancerConfig Expand(BalancerConfig config)
    {
        if (config.Discovery.Count == 0 && config.Backends.All(b => b.Group is null))
        {
            return config;
        }

        var dropped = new List<string>();
        var merged = DiscoveredBackends.Merge(config, Chosen, dropped);
        string text = string.Join(", ", dropped);
        if (text != _lastDropped)
        {
            _lastDropped = text;
            if (text.Length > 0)
            {
                DiscoveryLog.Dropped(_logger, text);
            }
        }

        return merged;
    }

    private IReadOnlyList<DiscoveredTarget> Chosen(DiscoveryConfig group)
    {
        GroupWatch? watch;
        lock (_lock)
        {
            _watches.TryGetValue(group.Group, out watch);
        }

        var targets = watch?.Read(s => s.Targets) ?? [];
        return TierSelection.Choose(targets, IsEligible);
    }

    // A target not in force yet counts as eligible, as a backend no check has decided on does.
    private bool IsEligible(string id) => _state.Current.Backends.Find(id) is not { } backend || backend.Eligible;

    private void Publish() => _state.ApplyDiscovered(Expand);

    private void CheckTiers()
    {
        if (Groups.Any(g => TierSelection.HasTiers(g.Read(s => s.Targets))))
        {
            Publish();
        }
    }

    /// <summary>Stops every watch.</summary>
    public async ValueTask DisposeAsync()
    {
        GroupWatch[] watches;
        lock (_lock)
        {
            _disposed = true;
            watches = [.. _watches.Values];
            _watches.Clear();
        }

        if (_tierTimer is not null)
        {
            await _tierTimer.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var watch in watches)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
    }
}
