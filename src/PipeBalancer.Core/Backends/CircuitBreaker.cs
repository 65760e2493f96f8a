namespace PipeBalancer.Backends;

/// <summary>The passive side of backend health.</summary>
internal enum CircuitState
{
    /// <summary>Requests flow.</summary>
    Closed,

    /// <summary>Too many failures in a row: no requests until the cool-down ends.</summary>
    Open,

    /// <summary>The cool-down ended: one trial request may pass; its outcome decides.</summary>
    HalfOpen,
}

/// <summary>
/// Passive failure detection per backend: <c>consecutiveFailures</c> failures in a row (connect
/// failures, timeouts, resets, and 5xx when so configured) open the circuit for a cool-down
/// that doubles on each reopening up to a cap. When it ends, one request is let through (half
/// open): success closes the circuit and resets the cool-down, failure reopens it. Thread-safe;
/// time comes from a <see cref="TimeProvider"/>.
/// </summary>
internal sealed class CircuitBreaker(int threshold, TimeSpan baseCooldown, TimeSpan maxCooldown, TimeProvider time)
{
    private readonly Lock _lock = new();
    private int _failures;
    private int _openings;
    private long _openUntil;
    private bool _trialTaken;

    /// <summary>The state now (an open circuit whose cool-down has ended reads as half open).</summary>
    public CircuitState State
    {
        get
        {
            lock (_lock)
            {
                return Current();
            }
        }
    }

    /// <summary>How long the current or last opening lasts.</summary>
    public TimeSpan Cooldown => CooldownFor(Math.Max(1, _openings));

    /// <summary>Whether a request may be sent now; in half open, true once, for the trial.</summary>
    public bool TryAdmit()
    {
        lock (_lock)
        {
            switch (Current())
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.HalfOpen when !_trialTaken:
                    _trialTaken = true;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>Whether a request could be admitted now (for routing; does not take the trial).</summary>
    public bool Allows
    {
        get
        {
            lock (_lock)
            {
                var state = Current();
                return state == CircuitState.Closed || (state == CircuitState.HalfOpen && !_trialTaken);
            }
        }
    }

    /// <summary>Records a success: closes the circuit.</summary>
    public void Success()
    {
        // The common case, a success on a healthy backend, takes no lock (a stale read only
        // delays the reset to the next success).
        if (Volatile.Read(ref _failures) == 0 && Volatile.Read(ref _openings) == 0)
        {
            return;
        }

        lock (_lock)
        {
            _failures = 0;
            if (_openings > 0 && Current() != CircuitState.Open)
            {
                _openings = 0;
                _openUntil = 0;
                _trialTaken = false;
            }
        }
    }

    /// <summary>Records a failure; returns true when it opened the circuit.</summary>
    public bool Failure()
    {
        lock (_lock)
        {
            var state = Current();
            if (state == CircuitState.Open)
            {
                return false;
            }

            _failures++;
            if (state == CircuitState.HalfOpen || _failures >= threshold)
            {
                _openings++;
                _openUntil = time.GetTimestamp() + (long)(CooldownFor(_openings).TotalSeconds * time.TimestampFrequency);
                _trialTaken = false;
                _failures = 0;
                return true;
            }

            return false;
        }
    }

    /// <summary>Forgets every failure and opening: closed, with the base cool-down (a backend added back).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _failures = 0;
            _openings = 0;
            _openUntil = 0;
            _trialTaken = false;
        }
    }

    private CircuitState Current() =>
        _openings == 0 ? CircuitState.Closed : time.GetTimestamp() < _openUntil ? CircuitState.Open : CircuitState.HalfOpen;

    private TimeSpan CooldownFor(int openings)
    {
        double ms = baseCooldown.TotalMilliseconds * Math.Pow(2, Math.Min(openings - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(ms, Math.Max(baseCooldown.TotalMilliseconds, maxCooldown.TotalMilliseconds)));
    }
}
