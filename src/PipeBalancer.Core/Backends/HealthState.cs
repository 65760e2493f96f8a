namespace PipeBalancer.Backends;

/// <summary>What active health checks say of a backend.</summary>
internal enum HealthStatus
{
    /// <summary>No check has decided yet (takes traffic unless <c>health.unknownTakesTraffic</c> is false).</summary>
    Unknown,

    /// <summary><c>rise</c> consecutive checks passed.</summary>
    Healthy,

    /// <summary><c>fall</c> consecutive checks failed.</summary>
    Unhealthy,
}

/// <summary>
/// The rise/fall state machine of one backend (HAProxy's model): <c>rise</c> consecutive
/// successes make it Healthy, <c>fall</c> consecutive failures Unhealthy; a single result
/// against the trend only resets the count, so a flapping backend does not flip state on
/// every check. While Unhealthy, the check interval doubles per failed check up to a cap,
/// and snaps back on recovery. Pure: time and randomness come from outside.
/// </summary>
internal sealed class HealthState(int rise, int fall, TimeSpan interval, TimeSpan maxBackoff, HealthStatus initial = HealthStatus.Unknown)
{
    private int _successes;
    private int _failures;

    /// <summary>The current status.</summary>
    public HealthStatus Status { get; private set; } = initial;

    /// <summary>Consecutive failures while Unhealthy beyond the one that made it so (drives the backoff).</summary>
    public int FailuresWhileDown { get; private set; }

    /// <summary>Records one check result; returns true when the status changed.</summary>
    public bool Record(bool success)
    {
        var before = Status;
        if (success)
        {
            _failures = 0;
            _successes++;
            FailuresWhileDown = 0;
            if (Status != HealthStatus.Healthy && _successes >= rise)
            {
                Status = HealthStatus.Healthy;
            }
        }
        else
        {
            _successes = 0;
            _failures++;
            if (Status == HealthStatus.Unhealthy)
            {
                FailuresWhileDown++;
            }
            else if (_failures >= fall)
            {
                Status = HealthStatus.Unhealthy;
            }
        }

        return Status != before;
    }

    /// <summary>
    /// Time until the next check: the interval, doubled per failure while Unhealthy up to
    /// <c>maxBackoff</c>, then spread by +/- <paramref name="jitter"/> (0..1 of it) so checks of
    /// many balancers do not arrive in step. <paramref name="random01"/> is a number in [0, 1).
    /// </summary>
    public TimeSpan NextDelay(double jitter, double random01)
    {
        var delay = interval;
        if (Status == HealthStatus.Unhealthy)
        {
            int doublings = Math.Min(FailuresWhileDown + 1, 30);
            double backedOff = interval.TotalMilliseconds * Math.Pow(2, doublings);
            delay = TimeSpan.FromMilliseconds(Math.Min(backedOff, Math.Max(interval.TotalMilliseconds, maxBackoff.TotalMilliseconds)));
        }

        double factor = 1 + (jitter * ((2 * random01) - 1));
        return TimeSpan.FromMilliseconds(delay.TotalMilliseconds * factor);
    }
}
