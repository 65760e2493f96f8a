namespace PipeBalancer.Forwarding;

/// <summary>Something with deadlines the heartbeat checks.</summary>
internal interface ITimeoutWatched
{
    /// <summary>
    /// Called on a heartbeat walk with the current Environment.TickCount64: fires what is due
    /// and returns the earliest deadline still pending (long.MaxValue: none).
    /// </summary>
    long OnTick(long now);
}

/// <summary>
/// One timer for every connection timeout, instead of a timer per request (as Kestrel's
/// heartbeat). A walk asks every open connection whether a deadline has passed and learns the
/// earliest one still pending; the timer is then set for the next moment a deadline can be
/// due, and no sooner than one period on. A deadline set after a walk is at least the shortest
/// timeout away from it (every deadline is "now + a timeout"), so the next walk comes at the
/// earliest pending deadline or one shortest timeout after this walk, whichever is first: an
/// idle balancer walks its connections every few seconds rather than every period, and wakes
/// for nothing between walks. A deadline still fires within one period of passing.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly HashSet<ITimeoutWatched> _watched = [];
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private readonly long _periodMs;
    private readonly Func<long, long>? _onTick;
    private readonly Func<long>? _shortestTimeoutMs;
    private readonly Action<Exception>? _onFault;
    private readonly Lock _armLock = new();
    private ITimeoutWatched[] _snapshot = [];
    private bool _soon;
    private bool _walking;
    private volatile bool _disposed;

    /// <param name="period">The longest a passed deadline may wait for its walk, and the shortest time between walks.</param>
    /// <param name="onTick">Runs on every walk with now; returns its own earliest pending deadline (long.MaxValue: none).</param>
    /// <param name="shortestTimeoutMs">
    /// The shortest timeout a deadline may be set with, read on every walk (a reload may lower
    /// it); null: no bound, walk every period.
    /// </param>
    /// <param name="onFault">
    /// Told of an exception a walk threw (a fault of the balancer's own), after which the walks go
    /// on one period later; null: the exception is not caught.
    /// </param>
    public Heartbeat(TimeSpan period, Func<long, long>? onTick = null, Func<long>? shortestTimeoutMs = null, Action<Exception>? onFault = null)
    {
        _onFault = onFault;
        _periodMs = Math.Max(1, (long)period.TotalMilliseconds);
        _onTick = onTick;
        _shortestTimeoutMs = shortestTimeoutMs;
        _timer = new Timer(static s => ((Heartbeat)s!).Tick(), this, _periodMs, Timeout.Infinite);
    }

    public void Add(ITimeoutWatched watched)
    {
        lock (_lock)
        {
            _watched.Add(watched);
        }
    }

    public void Remove(ITimeoutWatched watched)
    {
        lock (_lock)
        {
            _watched.Remove(watched);
        }
    }

    /// <summary>
    /// Brings the next walk within one period: the configuration changed (a timeout may be
    /// shorter, a pool's idle connections may be due sooner).
    /// </summary>
    public void WalkSoon()
    {
        lock (_armLock)
        {
            // A walk in progress sets the timer when it ends.
            _soon = true;
            if (!_walking)
            {
                Arm(_periodMs);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _timer.Dispose();
    }

    // The timer is one-shot and set again at the end of each walk. A callback that finds a walk
    // in progress (a WalkSoon met a timer that had just fired) leaves it to that walk.
    private void Tick()
    {
        lock (_armLock)
        {
            if (_walking)
            {
                return;
            }

            _walking = true;
            _soon = false;
        }

        long next = long.MaxValue;
        try
        {
            next = Walk(Environment.TickCount64);
        }
        catch (Exception e) when (_onFault is not null)
        {
            // Logged once with its stack; a walk that failed must not leave every later deadline
            // unwatched (the timer would be set for never).
            _onFault(e);
            next = Environment.TickCount64 + _periodMs;
        }
        finally
        {
            // Measured after the walk, so that a slow walk (a busy machine) does not shorten the gap.
            long delay = Math.Clamp(next - Environment.TickCount64, _periodMs, int.MaxValue);
            lock (_armLock)
            {
                // A WalkSoon during this walk may have come after its configuration was read.
                Arm(_soon ? _periodMs : delay);
                _soon = false;
                _walking = false;
            }
        }
    }

    private void Arm(long delayMs)
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            _timer.Change(delayMs, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the change: no more walks.
        }
    }

    /// <summary>One walk at <paramref name="now"/>: fires what is due; returns when the next walk is needed.</summary>
    internal long Walk(long now)
    {
        int count;
        lock (_lock)
        {
            count = _watched.Count;
            if (_snapshot.Length < count)
            {
                _snapshot = new ITimeoutWatched[Math.Max(count, _snapshot.Length * 2)];
            }

            _watched.CopyTo(_snapshot);
        }

        long earliest = long.MaxValue;
        for (int i = 0; i < count; i++)
        {
            earliest = Math.Min(earliest, _snapshot[i].OnTick(now));
            _snapshot[i] = null!;
        }

        if (_onTick is not null)
        {
            earliest = Math.Min(earliest, _onTick(now));
        }

        // A deadline set from now on (by a connection, or by one added after the snapshot) is
        // at least the shortest timeout away; one period less covers a deadline computed just
        // before this walk and written just after it read that connection.
        if (_shortestTimeoutMs is null)
        {
            return now + _periodMs;
        }

        return Math.Min(earliest, now + Math.Max(_shortestTimeoutMs() - _periodMs, _periodMs));
    }
}
