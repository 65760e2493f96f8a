using System.Net;
using PipeBalancer.Configuration;

namespace PipeBalancer.Backends;

/// <summary>A backend at run time: where it is, how busy it is, whether it may take requests, and its idle connections.</summary>
internal sealed class Backend : IDisposable
{
    private readonly Lock _eligibilityLock = new();
    private readonly Microsoft.Extensions.Logging.ILogger? _logger;
    private BackendTotals _totals;
    private int _inFlight;
    private long _requests;
    private long _failures;
    private readonly bool _circuitEnabled;
    private bool _eligible = true;
    private volatile bool _circuitClosed = true;
    private volatile bool _draining;
    private bool _unknownTakesTraffic = true;
    private long _lastCheckTicks;
    private long _outcomeSinceTicks;
    private volatile HealthCheckResult? _lastCheck;

    internal Backend(BackendConfig config, int maxIdle, BackendTotals totals, CircuitConfig? circuit = null, TimeProvider? time = null,
        Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        _logger = logger;
        _totals = totals;
        Interlocked.Increment(ref totals.EligibleCount);
        circuit ??= CircuitConfig.Default;
        _circuitEnabled = circuit.Enabled;
        Circuit = new CircuitBreaker(circuit.ConsecutiveFailures, TimeSpan.FromMilliseconds(circuit.CooldownMs),
            TimeSpan.FromMilliseconds(circuit.MaxCooldownMs), time ?? TimeProvider.System);
        Config = config;
        EndPoint = config.Address.IPAddress is { } ip
            ? new IPEndPoint(ip, config.Address.Port)
            : new DnsEndPoint(config.Address.Host, config.Address.Port);
        Pool = new BackendPool(maxIdle);
        Draining = config.Drain;
    }

    /// <summary>The backend's lb.json entry (replaced when its weight or drain flag changes).</summary>
    public BackendConfig Config { get; private set; }

    /// <summary>Counters shown by the admin app: responses, errors, bytes, latency, checks, connections.</summary>
    public BackendStats Stats { get; } = new();

    /// <summary>The part of its routing weight it has now: 1 unless slow start is ramping it.</summary>
    public double Share { get; internal set; } = 1.0;

    /// <summary>Whether it was added or changed through the admin API since the config file was last applied.</summary>
    public bool ChangedAtRuntime { get; internal set; }

    /// <summary>Whether it has left the configuration; requests already sent to it finish.</summary>
    public bool Removed { get; private set; }

    /// <summary>Where to connect.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>
    /// Draining: routing sends it nothing new, requests in flight finish, and its pooled
    /// connections are closed (now, and as each in-flight request ends).
    /// </summary>
    public bool Draining
    {
        get => _draining;
        set
        {
            _draining = value;
            if (value)
            {
                Pool.Clear();
            }
        }
    }

    /// <summary>The passive failure detector.</summary>
    public CircuitBreaker Circuit { get; }

    /// <summary>
    /// Whether routing may choose it: health allows it (or it was set by hand) and its circuit
    /// is not open. A closed circuit is read without a lock.
    /// </summary>
    public bool Eligible
    {
        get => Volatile.Read(ref _eligible) && !_draining && (_circuitClosed || Circuit.Allows);
        set
        {
            lock (_eligibilityLock)
            {
                if (_eligible != value)
                {
                    _eligible = value;
                    Interlocked.Add(ref _totals.EligibleCount, value ? 1 : -1);
                }
            }
        }
    }

    /// <summary>
    /// Moves the backend into the set whose totals are <paramref name="totals"/> (a new
    /// configuration kept it). A request that began under the old set ends under the new one,
    /// so the new set's in-flight total may be off by the requests in flight at the swap, for
    /// as long as they last: bounded-load routing reads it as an estimate.
    /// </summary>
    internal void MoveTo(BackendTotals totals)
    {
        lock (_eligibilityLock)
        {
            if (ReferenceEquals(_totals, totals))
            {
                return;
            }

            if (_eligible)
            {
                Interlocked.Increment(ref totals.EligibleCount);
            }

            if (totals.TrackInFlight)
            {
                Interlocked.Add(ref totals.TotalInFlight, InFlight);
            }

            _totals = totals;
        }
    }

    /// <summary>Takes a changed entry for the same id and address: weight, drain flag, health override.</summary>
    internal void Update(BackendConfig config)
    {
        Config = config;
        if (Draining != config.Drain)
        {
            Draining = config.Drain;
        }
    }

    /// <summary>
    /// Back in a configuration after its removal, with the same id and address; its drain flag
    /// comes with the entry (<see cref="Update"/>). Its counters go on from where they were, so
    /// they never go down (Prometheus reads a drop as a restart). Nothing it knew of the machine
    /// is kept: the address may now be another machine, so health starts over at Unknown and
    /// waits for checks like a new backend's, the circuit closes, the last check is forgotten
    /// and it takes its full share of the ring.
    /// </summary>
    internal void Revive()
    {
        Removed = false;
        Circuit.Reset();
        _circuitClosed = true;
        Share = 1.0;
        Interlocked.Exchange(ref _lastCheckTicks, 0);
        Interlocked.Exchange(ref _outcomeSinceTicks, 0);
        _lastCheck = null;
        Health = HealthStatus.Unknown;
        Eligible = HealthAllowsTraffic();
    }

    /// <summary>Takes it out of service: no new requests, pooled connections closed.</summary>
    internal void Retire()
    {
        Removed = true;
        Draining = true;
    }

    /// <summary>What active health checks say of it.</summary>
    public HealthStatus Health { get; private set; } = HealthStatus.Unknown;

    /// <summary>When it was last checked (UTC), or null.</summary>
    public DateTimeOffset? LastCheck
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastCheckTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Whether the last check passed.</summary>
    public bool LastCheckPassed => _lastCheck?.Passed ?? false;

    /// <summary>What the last check found, or null before the first.</summary>
    public HealthCheckResult? LastCheckResult => _lastCheck;

    /// <summary>Since when (UTC) checks have found what the last one found: the first check of the current outcome; null before the first.</summary>
    public DateTimeOffset? LastOutcomeSince
    {
        get
        {
            long ticks = Interlocked.Read(ref _outcomeSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Requests it is handling now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests sent to it since start.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Connect failures, timeouts and broken responses since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal BackendPool Pool { get; }

    internal void Begin()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _requests);
        if (_totals.TrackInFlight)
        {
            Interlocked.Increment(ref _totals.TotalInFlight);
        }
    }

    internal void End()
    {
        Interlocked.Decrement(ref _inFlight);
        if (_totals.TrackInFlight)
        {
            Interlocked.Decrement(ref _totals.TotalInFlight);
        }
    }

    /// <summary>Counts a failure against the backend (connect failure, timeout, reset, broken response).</summary>
    internal void RecordFailure(BackendErrorKind kind)
    {
        Interlocked.Increment(ref _failures);
        Stats.Error(kind);
        if (_circuitEnabled && Circuit.Failure())
        {
            _circuitClosed = false;
            if (_logger is not null)
            {
                BackendLog.CircuitOpened(_logger, Config.Id, Config.Address.Text, kind);
            }
        }
    }

    /// <summary>Counts a complete response head from the backend.</summary>
    internal void RecordSuccess()
    {
        if (!_circuitEnabled)
        {
            return;
        }

        Circuit.Success();
        if (!_circuitClosed && Circuit.State == CircuitState.Closed)
        {
            _circuitClosed = true;
            if (_logger is not null)
            {
                BackendLog.CircuitClosed(_logger, Config.Id, Config.Address.Text);
            }
        }
    }

    /// <summary>Whether a request may go to it now; takes the one trial of a half-open circuit.</summary>
    internal bool TryAdmit() => _circuitClosed || !_circuitEnabled || Circuit.TryAdmit();

    /// <summary>Whether a backend no check has decided on takes traffic; applied at once.</summary>
    internal void HealthPolicy(bool unknownTakesTraffic)
    {
        _unknownTakesTraffic = unknownTakesTraffic;
        Eligible = HealthAllowsTraffic();
    }

    /// <summary>
    /// Records a check result and the status it led to; eligibility follows the status. Returns
    /// whether the result differs from the one before (<paramref name="previous"/>, null before
    /// the first check): a change of outcome, which is told once rather than per check.
    /// </summary>
    internal bool RecordCheck(DateTimeOffset when, HealthCheckResult result, HealthStatus status, out HealthCheckResult? previous)
    {
        // One checking loop per backend: nothing else writes these.
        previous = _lastCheck;
        bool changed = !Equals(previous, result);
        if (changed)
        {
            Interlocked.Exchange(ref _outcomeSinceTicks, when.UtcTicks);
        }

        _lastCheck = result;
        RecordCheck(when, result.Passed, status);
        return changed;
    }

    private void RecordCheck(DateTimeOffset when, bool passed, HealthStatus status)
    {
        // A passing check after the cool-down serves as the half-open circuit's trial.
        if (passed && _circuitEnabled && !_circuitClosed && Circuit.State == CircuitState.HalfOpen)
        {
            RecordSuccess();
        }

        Stats.Check(passed);
        Interlocked.Exchange(ref _lastCheckTicks, when.UtcTicks);
        if (Health != status)
        {
            Health = status;
            Eligible = HealthAllowsTraffic();
            if (status == HealthStatus.Unhealthy)
            {
                // Its idle connections most likely died with it; closing them now spares the
                // next request a stale connection once it is back.
                Pool.Clear();
            }
        }
    }

    /// <summary>Health checks were turned off: back to Unknown, which takes traffic.</summary>
    internal void ForgetHealth()
    {
        Health = HealthStatus.Unknown;
        HealthPolicy(unknownTakesTraffic: true);
    }

    private bool HealthAllowsTraffic() => Health switch
    {
        HealthStatus.Healthy => true,
        HealthStatus.Unknown => _unknownTakesTraffic,
        _ => false,
    };

    /// <summary>Closes its idle connections.</summary>
    public void Dispose() => Pool.Dispose();
}

/// <summary>
/// Counts over all backends of a set, kept up to date by the backends so that routing reads
/// them in O(1): the eligible count always, the total in flight only when the algorithm needs
/// it (ring-bounded), since it costs a shared interlocked add per request.
/// </summary>
internal sealed class BackendTotals(bool trackInFlight)
{
    public readonly bool TrackInFlight = trackInFlight;
    public int TotalInFlight;
    public int EligibleCount;
}

/// <summary>A backend's state changes, one line each (health changes: <see cref="HealthLog"/>).</summary>
internal static partial class BackendLog
{
    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 3002, Level = Microsoft.Extensions.Logging.LogLevel.Warning,
        Message = "Backend {BackendId} ({Address}): circuit opened after consecutive failures (last: {Kind}); it gets no requests until the cool-down ends")]
    public static partial void CircuitOpened(Microsoft.Extensions.Logging.ILogger logger, string backendId, string address, BackendErrorKind kind);

    [Microsoft.Extensions.Logging.LoggerMessage(EventId = 3003, Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "Backend {BackendId} ({Address}): circuit closed, the trial request succeeded")]
    public static partial void CircuitClosed(Microsoft.Extensions.Logging.ILogger logger, string backendId, string address);
}
