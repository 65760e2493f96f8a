namespace PipeBalancer.Forwarding;

/// <summary>Something with a deadline the heartbeat checks.</summary>
internal interface ITimeoutWatched
{
    /// <summary>Called on a heartbeat tick with the current Environment.TickCount64.</summary>
    void OnTick(long now);
}

/// <summary>
/// One timer for every connection timeout: each tick asks every open connection whether a
/// deadline has passed, instead of a timer per request (as Kestrel's heartbeat does).
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly HashSet<ITimeoutWatched> _watched = [];
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private readonly Action<long>? _onTick;
    private ITimeoutWatched[] _snapshot = [];
    private int _ticking;

    public Heartbeat(TimeSpan period, Action<long>? onTick = null)
    {
        _onTick = onTick;
        _timer = new Timer(_ => Tick(), null, period, period);
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

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        // A tick that runs longer than the period (a busy machine) would overlap the next,
        // which shares the snapshot array: the later one is skipped instead.
        if (Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return;
        }

        try
        {
            TickOnce();
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    private void TickOnce()
    {
        long now = Environment.TickCount64;
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

        for (int i = 0; i < count; i++)
        {
            _snapshot[i].OnTick(now);
            _snapshot[i] = null!;
        }

        _onTick?.Invoke(now);
    }
}
