using System.IO.Pipelines;
using System.Buffers;
using Microsoft.Extensions.Logging;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Discovery;
using PipeBalancer.Http1;
using PipeBalancer.RateLimiting;

using PipeBalancer.Forwarding;
using PipeBalancer.Tracing;

namespace PipeBalancer.Runtime;

/// <summary>
/// What every connection handler shares: the current configuration with its backends and
/// routing (one snapshot, swapped whole on reload), the heartbeat, and pipe settings.
/// </summary>
internal sealed class ProxyState : IAsyncDisposable
{
    /// <summary>
    /// Removed backends kept one by one (the newest), so that one added back takes its object
    /// again; older ones are folded into <see cref="RetiredTotals"/>, so that churn (backends
    /// found through DNS that come and go with new addresses) does not grow the list without end.
    /// </summary>
    internal const int RetiredKept = 256;

    private readonly Lock _applyLock = new();
    private readonly List<Backend> _retired = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _backendLogger;
    private bool _healthStarted;
    private volatile ProxySnapshot _current;
    private int _disposed;

    /// <summary>Creates the state for <paramref name="config"/>.</summary>
    public ProxyState(BalancerConfig config, MemoryPool<byte> memoryPool, ILoggerFactory loggerFactory)
    {
        _backendLogger = loggerFactory.CreateLogger("PipeBalancer.Backends");
        _current = new ProxySnapshot(config, new BackendSet(config, logger: _backendLogger), generation: 1, changedAtRuntime: false)
        {
            RateLimits = RateLimiterSet.Build(config.RateLimits, previous: null, TimeProvider.System),
        };
        Logger = loggerFactory.CreateLogger("PipeBalancer.Forwarding");

        // Backpressure: a backend is read no further ahead of a slow client than this, so a
        // slow reader costs at most this much memory per connection. Segments as large as the
        // pool's blocks (16 KB with BlockMemoryPool): one receive per block, not per 4 KB.
        BackendPipeOptions = new PipeOptions(
            memoryPool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 64 * 1024,
            resumeWriterThreshold: 32 * 1024,
            minimumSegmentSize: Math.Min(memoryPool.MaxBufferSize, BlockMemoryPool.DefaultBlockSize),
            useSynchronizationContext: false);
        Connect = (backend, timeoutMs) => BackendConnection.ConnectAsync(backend.EndPoint, timeoutMs, BackendPipeOptions, BackendPipeOptions, backend.Stats);

        var timeouts = config.Timeouts;
        int smallest = Math.Min(
            Math.Min(Math.Min(timeouts.HeadersMs, timeouts.ConnectMs), Math.Min(timeouts.ResponseHeadMs, timeouts.KeepAliveMs)),
            Math.Min(timeouts.BackendIdleMs, Math.Min(timeouts.ClientBodyMs, timeouts.ClientSendMs)));
        var period = TimeSpan.FromMilliseconds(Math.Clamp(smallest / 5, 20, 1000));
        RequestStates = new RequestStatePool(this);
        Heartbeat = new Heartbeat(period, SweepIdleBackendConnections, () => ShortestDeadline(Current.Config.Timeouts), e => Forwarding.Log.HeartbeatFault(Logger, e));
        var retries = config.Retries;
        RetryBudget = new RetryBudget(retries.BudgetPercent, retries.BudgetWindowSeconds, retries.MinRetriesPerWindow, TimeProvider.System);
        _loggerFactory = loggerFactory;
        Health = CreateHealthChecker(config, _current.Backends);
        TraceExport = new TraceExport(loggerFactory.CreateLogger("PipeBalancer.Tracing"));
        TraceExport.Apply(config.Tracing);
        Discovery = new DiscoveryService(this, loggerFactory.CreateLogger("PipeBalancer.Discovery"), TimeProvider.System, Random.Shared);
    }

    // Every deadline the heartbeat watches is "now + one of these" (the connect timeout is
    // the connect's own): none is set closer than the shortest.
    // The window for a request body after its early response (DiscardLimits.WindowMs) is one
    // of them too; a lingering close's shorter pauses bring a walk soon themselves.
    private static long ShortestDeadline(Configuration.TimeoutConfig t) =>
        Math.Min(Math.Min(Math.Min(t.HeadersMs, t.KeepAliveMs), Math.Min(t.ResponseHeadMs, t.BackendIdleMs)),
            Math.Min(Math.Min(t.ClientBodyMs, t.ClientSendMs), Forwarding.DiscardLimits.WindowMs));

    // On every heartbeat walk: closes the pooled backend connections idle for backendIdleMs;
    // returns when the next one will have been.
    private long SweepIdleBackendConnections(long now)
    {
        long idleMs = Current.Config.Timeouts.BackendIdleMs;
        long oldest = Current.Backends.SweepIdle(now - idleMs);
        return oldest == long.MaxValue ? long.MaxValue : oldest + idleMs;
    }

    /// <summary>The state of HTTP requests in progress, rented per request so that idle connections hold none.</summary>
    internal RequestStatePool RequestStates { get; }

    /// <summary>The export of spans over OTLP (<c>tracing</c> section), rebuilt when its settings change.</summary>
    public TraceExport TraceExport { get; }

    /// <summary>The backends found through DNS (<c>discovery</c>): started by the host before the listeners open.</summary>
    public DiscoveryService Discovery { get; internal set; }

    /// <summary>The share of requests that may be retries.</summary>
    public RetryBudget RetryBudget { get; }

    /// <summary>The active health checker, or null when <c>health.enabled</c> is false.</summary>
    public HealthChecker? Health { get; private set; }

    /// <summary>Starts the health checks (once the listeners are up).</summary>
    public void StartHealthChecks()
    {
        lock (_applyLock)
        {
            _healthStarted = true;
            Health?.Start();
        }
    }

    /// <summary>The configuration, backends and routing in force.</summary>
    public ProxySnapshot Current => _current;

    /// <summary>Totals since start.</summary>
    public ProxyCounters Counters { get; } = new();

    /// <summary>Accepts and connects that failed on a local limit (descriptors, ports).</summary>
    public LocalLimitFaults LocalLimits { get; } = new();

    /// <summary>When the balancer was created (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long StartedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>One line per proxied request, when <c>--access-log</c> is on; else null (and free).</summary>
    public AccessLog? AccessLog { get; init; }

    /// <summary>The shared state through etcd when lb.json has a <c>cluster</c> section (set by the host), else null.</summary>
    public Cluster.ClusterSync? Cluster { get; set; }

    /// <summary>Whether every listener is bound and accepting (set by the host).</summary>
    public bool Listening { get; set; }

    /// <summary>
    /// Backends removed since start and not added back: their counters still belong in the
    /// totals. One per id and address ever removed; a backend added back takes its object again.
    /// </summary>
    public IReadOnlyList<Backend> Retired
    {
        get
        {
            lock (_applyLock)
            {
                return _retired.ToArray();
            }
        }
    }

    /// <summary>The counts of removed backends no longer kept in <see cref="Retired"/>: still part of the totals.</summary>
    internal BackendStats RetiredTotals { get; } = new();

    internal Heartbeat Heartbeat { get; }

    internal PipeOptions BackendPipeOptions { get; }

    /// <summary>Opens a connection to a backend within a timeout in milliseconds (TCP; in-memory pipes in tests).</summary>
    internal Func<Backend, int, ValueTask<BackendConnection>> Connect { get; set; }

    internal ILogger Logger { get; }

    /// <summary>
    /// Puts <paramref name="config"/> in force with one snapshot swap: the next request routes on
    /// it, requests in flight finish on the snapshot they read. Backends with the same id and
    /// address keep their state; removed ones stop taking requests and close their idle
    /// connections. <paramref name="runtimeEdit"/> says whether the change came through the admin API
    /// (a runtime change, replaced by the next file reload) rather than from the file.
    /// </summary>
    public ProxySnapshot Apply(BalancerConfig config, bool runtimeEdit)
    {
        ProxySnapshot applied;
        lock (_applyLock)
        {
            // The groups that remain keep the backends they found.
            applied = ApplyLocked(Discovery.Expand(config), runtimeEdit);
        }

        Discovery.Reconcile(applied.Config.Discovery);
        return applied;
    }

    /// <summary>
    /// Applies a change of the backends found through DNS, made by <paramref name="merge"/> from
    /// the configuration in force under the same lock as every other change: whether the admin
    /// API changed the configuration stays as it was. Nothing is applied when the backends are
    /// the same.
    /// </summary>
    public void ApplyDiscovered(Func<BalancerConfig, BalancerConfig> merge)
    {
        lock (_applyLock)
        {
            var current = _current.Config;
            var merged = merge(current);
            if (_disposed == 0 && !merged.Backends.SequenceEqual(current.Backends))
            {
                ApplyLocked(merged, _current.ChangedAtRuntime, discovered: true);
            }
        }
    }

    /// <summary>
    /// Applies an edit of the configuration in force (the admin API's add, remove, weight and
    /// drain), built by <paramref name="edit"/> from the current config under the same lock, so
    /// two edits never lose one another. Returns the edit's result; the config is applied only
    /// when it carries one.
    /// </summary>
    public ConfigResult Edit(Func<BalancerConfig, ConfigResult> edit) => Edit(edit, out _);

    /// <summary>
    /// <see cref="Edit(Func{BalancerConfig, ConfigResult})"/>, also giving the snapshot in force
    /// right after it (the one it applied, or the one it left alone): what an answer about the
    /// edit shows, whatever later edits do.
    /// </summary>
    public ConfigResult Edit(Func<BalancerConfig, ConfigResult> edit, out ProxySnapshot inForce)
    {
        lock (_applyLock)
        {
            var current = _current.Config;
            var result = edit(current);

            // An edit that changes nothing (a drain of a draining server, the weight it has)
            // applies nothing: no new generation, nothing marked as changed.
            if (result.Config is { } edited && !(edited.Backends.SequenceEqual(current.Backends) && edited with { Backends = current.Backends } == current))
            {
                ApplyLocked(edited, runtimeEdit: true);
            }

            inForce = _current;
            return result;
        }
    }

    private ProxySnapshot ApplyLocked(BalancerConfig config, bool runtimeEdit, bool discovered = false)
    {
        var before = _current;
        var set = new BackendSet(config, previous: before.Backends, retired: _retired, logger: _backendLogger);
        _retired.RemoveAll(b => set.IndexOf(b) >= 0);
        foreach (var backend in set.Backends)
        {
            // A file reload replaces every runtime change; an edit marks the entries it added or changed.
            // A change found through DNS marks nothing.
            backend.ChangedAtRuntime = discovered
                ? backend.ChangedAtRuntime
                : runtimeEdit && (backend.ChangedAtRuntime || !before.Config.Backends.Contains(backend.Config));
        }

        var next = new ProxySnapshot(config, set, before.Generation + 1, runtimeEdit)
        {
            // Limiters whose settings did not change keep their buckets.
            RateLimits = RateLimiterSet.Build(config.RateLimits, before.RateLimits, TimeProvider.System),
        };
        _current = next;
        Heartbeat.WalkSoon();
        TraceExport.Apply(config.Tracing);
        if (HealthSettingsChanged(before.Config, config))
        {
            // New checks replace the old loops; each backend keeps its status meanwhile.
            var old = Health;
            Health = CreateHealthChecker(config, set);
            if (_healthStarted)
            {
                Health?.Start();
            }

            if (old is not null)
            {
                _ = old.DisposeAsync().AsTask();
            }

            if (Health is null)
            {
                // Checks turned off: nothing will ever decide on a backend again, so none stays out.
                foreach (var backend in set.Backends)
                {
                    backend.ForgetHealth();
                }
            }
        }
        else
        {
            Health?.Track(set);
        }
        foreach (var old in before.Backends.Backends)
        {
            if (set.IndexOf(old) < 0)
            {
                old.Retire();
                _retired.Add(old);
            }
        }

        if (_retired.Count > RetiredKept)
        {
            // The oldest removals: their requests in flight ended long ago, and the counts are
            // all that is left of them. An address that comes back later starts a new object.
            int folded = _retired.Count - RetiredKept;
            foreach (var gone in _retired.Take(folded))
            {
                RetiredTotals.Add(gone.Stats);
                gone.Dispose();
            }

            _retired.RemoveRange(0, folded);
        }

        return next;
    }

    private HealthChecker? CreateHealthChecker(BalancerConfig config, BackendSet set)
    {
        if (!config.Health.Enabled)
        {
            return null;
        }

        var observers = new List<IHealthObserver> { new HealthLog(_loggerFactory.CreateLogger("PipeBalancer.Health")) };
        if (config.Health.SlowStartMs > 0)
        {
            observers.Add(new SlowStart(() => Current.Backends, TimeSpan.FromMilliseconds(config.Health.SlowStartMs), TimeProvider.System));
        }

        return new HealthChecker(set, config.Health, TimeProvider.System, observers, proxySend: b => b.Config.SendsProxy(Current.Config.ProxyProtocol));
    }

    // The section, or the override of a backend kept by the new configuration.
    private static bool HealthSettingsChanged(BalancerConfig before, BalancerConfig after)
    {
        if (before.Health != after.Health)
        {
            return true;
        }

        foreach (var backend in after.Backends)
        {
            var old = before.Backends.FirstOrDefault(b => b.Id == backend.Id);
            if (old is not null && old.Health != backend.Health)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Stops health checks and the heartbeat, and closes idle backend connections.</summary>
    public async ValueTask DisposeAsync()
    {
        // Both the host and its service container dispose the state.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Discovery.DisposeAsync().ConfigureAwait(false);
        if (Health is not null)
        {
            await Health.DisposeAsync().ConfigureAwait(false);
        }

        Heartbeat.Dispose();
        LocalLimits.Dispose();
        TraceExport.Dispose();
        if (AccessLog is not null)
        {
            await AccessLog.DisposeAsync().ConfigureAwait(false);
        }

        _current.Backends.Dispose();
        foreach (var b in Retired)
        {
            b.Dispose();
        }
    }
}
