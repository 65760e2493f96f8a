namespace PipeBalancer.Backends;

/// <summary>
/// Idle connections to one backend, reused most-recent-first: the connection used last is
/// the one least likely to have been closed by the backend's own idle timeout. Idle ones older
/// than the idle timeout are closed by the heartbeat sweep. The stack grows as connections
/// come back, up to the cap, so a pool that never holds many costs little.
/// </summary>
internal sealed class BackendPool : IDisposable
{
    // The stack's first size: what a backend behind a few dozen clients needs.
    private const int InitialSlots = 16;

    private readonly Lock _lock = new();
    private readonly int _maxIdle;
    private BackendConnection?[] _idle;
    private int _count;
    private bool _disposed;

    public BackendPool(int maxIdle)
    {
        _maxIdle = maxIdle;
        _idle = new BackendConnection?[Math.Min(maxIdle, InitialSlots)];
    }

    /// <summary>Idle connections now.</summary>
    public int IdleCount => Volatile.Read(ref _count);

    /// <summary>The most recently returned usable connection, or null. Stale ones are closed on the way.</summary>
    public BackendConnection? Rent()
    {
        while (true)
        {
            BackendConnection? connection;
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                connection = _idle[--_count];
                _idle[_count] = null;
            }

            if (connection!.IsUsable())
            {
                connection.Reused = true;
                return connection;
            }

            connection.Dispose();
        }
    }

    /// <summary>Closes every idle connection; the pool keeps working.</summary>
    public void Clear() => Sweep(long.MaxValue);

    /// <summary>Keeps <paramref name="connection"/> for reuse, or closes it when the pool is full.</summary>
    public void Return(BackendConnection connection)
    {
        connection.IdleSince = Environment.TickCount64;
        lock (_lock)
        {
            if (!_disposed && _count < _maxIdle)
            {
                if (_count == _idle.Length)
                {
                    Array.Resize(ref _idle, Math.Min(_maxIdle, _idle.Length * 2));
                }

                _idle[_count++] = connection;
                return;
            }
        }

        connection.Dispose();
    }

    /// <summary>Closes idle connections unused since before <paramref name="idleSince"/>; returns when the oldest one left went idle (long.MaxValue: none is left).</summary>
    public long Sweep(long idleSince)
    {
        BackendConnection?[]? expired = null;
        int expiredCount = 0;
        long oldestLeft;
        lock (_lock)
        {
            // The oldest are at the bottom of the stack.
            while (expiredCount < _count && _idle[expiredCount]!.IdleSince < idleSince)
            {
                expiredCount++;
            }

            if (expiredCount > 0)
            {
                expired = _idle[..expiredCount];
                Array.Copy(_idle, expiredCount, _idle, 0, _count - expiredCount);
                Array.Clear(_idle, _count - expiredCount, expiredCount);
                _count -= expiredCount;
            }

            oldestLeft = _count > 0 ? _idle[0]!.IdleSince : long.MaxValue;
        }

        if (expired is not null)
        {
            foreach (var connection in expired)
            {
                connection!.Dispose();
            }
        }

        return oldestLeft;
    }

    /// <summary>Closes every idle connection; later returns are closed too.</summary>
    public void Dispose()
    {
        BackendConnection?[] all;
        lock (_lock)
        {
            _disposed = true;
            all = _idle[.._count];
            Array.Clear(_idle);
            _count = 0;
        }

        foreach (var connection in all)
        {
            connection!.Dispose();
        }
    }
}
