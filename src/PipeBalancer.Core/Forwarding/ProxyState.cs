using System.IO.Pipelines;
using System.Buffers;
using Microsoft.Extensions.Logging;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;

namespace PipeBalancer.Forwarding;

/// <summary>
/// What every connection handler shares: the current configuration with its backends and
/// routing (one snapshot, swapped whole on reload), the heartbeat, and pipe settings.
/// </summary>
public sealed class ProxyState : IAsyncDisposable
{
    private volatile ProxySnapshot _current;
    private int _disposed;

    /// <summary>Creates the state for <paramref name="config"/>.</summary>
    public ProxyState(BalancerConfig config, MemoryPool<byte> memoryPool, ILoggerFactory loggerFactory)
    {
        _current = new ProxySnapshot(config);
        Logger = loggerFactory.CreateLogger("PipeBalancer.Forwarding");

        // Backpressure: a backend is read no further ahead of a slow client than this, so a
        // slow reader costs at most this much memory per connection.
        BackendPipeOptions = new PipeOptions(
            memoryPool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 64 * 1024,
            resumeWriterThreshold: 32 * 1024,
            minimumSegmentSize: 4096,
            useSynchronizationContext: false);

        var timeouts = config.Timeouts;
        int smallest = Math.Min(
            Math.Min(Math.Min(timeouts.HeadersMs, timeouts.ConnectMs), Math.Min(timeouts.ResponseHeadMs, timeouts.KeepAliveMs)),
            timeouts.BackendIdleMs);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(smallest / 5, 20, 1000));
        Heartbeat = new Heartbeat(period, now => Current.Backends.SweepIdle(now - Current.Config.Timeouts.BackendIdleMs));
        var retries = config.Retries;
        RetryBudget = new RetryBudget(retries.BudgetPercent, retries.BudgetWindowSeconds, retries.MinRetriesPerWindow, TimeProvider.System);
        if (config.Health.Enabled)
        {
            var observers = new List<IHealthObserver> { new HealthLog(loggerFactory.CreateLogger("PipeBalancer.Health")) };
            if (config.Health.SlowStartMs > 0)
            {
                observers.Add(new SlowStart(_current.Backends, TimeSpan.FromMilliseconds(config.Health.SlowStartMs), TimeProvider.System));
            }

            Health = new HealthChecker(_current.Backends, config.Health, TimeProvider.System, observers);
        }
    }

    /// <summary>The share of requests that may be retries.</summary>
    public RetryBudget RetryBudget { get; }

    /// <summary>The active health checker, or null when <c>health.enabled</c> is false.</summary>
    public HealthChecker? Health { get; }

    /// <summary>Starts the health checks (once the listeners are up).</summary>
    public void StartHealthChecks() => Health?.Start();

    /// <summary>The configuration, backends and routing in force.</summary>
    public ProxySnapshot Current => _current;

    /// <summary>Totals since start.</summary>
    public ProxyCounters Counters { get; } = new();

    internal Heartbeat Heartbeat { get; }

    internal PipeOptions BackendPipeOptions { get; }

    internal ILogger Logger { get; }

    /// <summary>Stops health checks and the heartbeat, and closes idle backend connections.</summary>
    public async ValueTask DisposeAsync()
    {
        // Both the host and its service container dispose the state.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Health is not null)
        {
            await Health.DisposeAsync().ConfigureAwait(false);
        }

        Heartbeat.Dispose();
        _current.Backends.Dispose();
    }
}

/// <summary>One configuration in force: read once per request, never changed.</summary>
public sealed class ProxySnapshot
{
    internal ProxySnapshot(BalancerConfig config)
    {
        Config = config;
        Backends = new BackendSet(config);
    }

    /// <summary>The configuration.</summary>
    public BalancerConfig Config { get; }

    /// <summary>The backends and routing table.</summary>
    public BackendSet Backends { get; }
}

/// <summary>Totals since start, updated with one interlocked add each.</summary>
public sealed class ProxyCounters
{
    private long _requests;
    private long _rejected;
    private long _backendErrors;
    private long _openConnections;
    private long _retries;

    /// <summary>Requests forwarded to a backend.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests refused before reaching a backend (malformed, too large, timed out).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Requests answered 502, 503 or 504 by the balancer.</summary>
    public long BackendErrors => Interlocked.Read(ref _backendErrors);

    /// <summary>Requests sent again to another server after a failure.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Client connections open now.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    internal void Request() => Interlocked.Increment(ref _requests);

    internal void Rejection() => Interlocked.Increment(ref _rejected);

    internal void BackendError() => Interlocked.Increment(ref _backendErrors);

    internal void Opened() => Interlocked.Increment(ref _openConnections);

    internal void Retry() => Interlocked.Increment(ref _retries);

    internal void Closed() => Interlocked.Decrement(ref _openConnections);
}
