using System.IO.Pipelines;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The client side of a request body's upload: the longest wait for the next body byte
/// (<c>timeouts.clientBodyMs</c>, nginx's <c>client_body_timeout</c>). The body pump arms it
/// around each read of the client pipe; the heartbeat fires it through <see cref="OnTick"/> by
/// cancelling that read, and the pump then ends with a 408 for the client and nothing charged
/// to the backend. While a client that sent <c>Expect: 100-continue</c> waits for the
/// backend's 100, the clock does not run: that wait is the backend's. Once the response is
/// complete and the body still arrives, the rest is bounded as a whole too
/// (<see cref="Limit"/>): past that end, the pending read of the client and the pending flush to
/// the backend are both cancelled. One instance per <see cref="RequestState"/>, reused for every
/// request it serves.
/// </summary>
internal sealed class ClientBodyTimeout
{
    private PipeReader? _client;
    private PipeWriter? _backend;
    private long _deadline = long.MaxValue;
    private long _end = long.MaxValue;
    private int _timeoutMs;
    private volatile bool _armed;
    private volatile bool _awaitingContinue;
    private volatile bool _fired;
    private volatile bool _ended;

    /// <summary>Whether the last armed read was cancelled by this timeout, or the whole body's end (<see cref="Limit"/>) has passed.</summary>
    public bool Fired => _fired || _ended;

    /// <summary>Whether the client still waits for the backend's 100 before it sends its body (nothing of it has arrived).</summary>
    public bool AwaitingContinue => _awaitingContinue;

    /// <summary>Sets the client pipe whose read a firing cancels (when its exchange is bound to a connection).</summary>
    public void Bind(PipeReader? client) => Volatile.Write(ref _client, client);

    /// <summary>Starts a body: <paramref name="timeoutMs"/> per read, paused until a 1xx when <paramref name="awaitingContinue"/>.</summary>
    public void Begin(int timeoutMs, bool awaitingContinue)
    {
        _timeoutMs = timeoutMs;
        _awaitingContinue = awaitingContinue;
        _fired = false;
        _ended = false;
        _armed = false;
        Volatile.Write(ref _deadline, long.MaxValue);
        ClearLimit();
    }

    /// <summary>
    /// The response is complete: the rest of the body must have arrived (and been written to
    /// <paramref name="backend"/>) by <paramref name="end"/> (Environment.TickCount64 milliseconds).
    /// </summary>
    public void Limit(long end, PipeWriter backend)
    {
        Volatile.Write(ref _backend, backend);
        Volatile.Write(ref _end, end);
    }

    /// <summary>The body is over: its end is no longer watched.</summary>
    public void ClearLimit()
    {
        Volatile.Write(ref _end, long.MaxValue);
        Volatile.Write(ref _backend, null);
    }

    /// <summary>A read of the client pipe for the body is about to wait.</summary>
    public void Arm()
    {
        _fired = false;
        _armed = true;
        Volatile.Write(ref _deadline, _awaitingContinue ? long.MaxValue : Environment.TickCount64 + _timeoutMs);
    }

    /// <summary>The read returned (bytes arrived, or it ended): the client is sending.</summary>
    public void Disarm()
    {
        _armed = false;
        _awaitingContinue = false;
        Volatile.Write(ref _deadline, long.MaxValue);
    }

    /// <summary>A 1xx reached the client: from now on a body that does not come is the client's fault.</summary>
    public void ContinueSent()
    {
        if (_awaitingContinue)
        {
            _awaitingContinue = false;
            if (_armed)
            {
                Volatile.Write(ref _deadline, Environment.TickCount64 + _timeoutMs);
            }
        }
    }

    /// <summary>
    /// Ends a pending body read now, as if the timeout had fired; false when no read is waiting
    /// on the client (the body is being written to the backend, or has ended) or the client is
    /// still waiting for the backend's 100.
    /// </summary>
    public bool Expire()
    {
        if (!_armed || _awaitingContinue)
        {
            return false;
        }

        Fire();
        return true;
    }

    /// <summary>Fires the timeout when its deadline has passed; returns the deadline still pending (long.MaxValue: none).</summary>
    public long OnTick(long now)
    {
        long end = Volatile.Read(ref _end);
        if (now >= end)
        {
            // The whole body's end: whatever the pump waits on, the client or the backend, ends.
            // Claimed first, so that a body that ended meanwhile (its pump cleared the limit, and
            // the next request may have begun) is not fired at.
            var backend = Volatile.Read(ref _backend);
            if (Interlocked.CompareExchange(ref _end, long.MaxValue, end) != end)
            {
                return Math.Min(Volatile.Read(ref _deadline), Volatile.Read(ref _end));
            }

            Volatile.Write(ref _backend, null);
            _ended = true;
            Fire();
            backend?.CancelPendingFlush();
            return long.MaxValue;
        }

        long deadline = Volatile.Read(ref _deadline);
        if (now >= deadline)
        {
            Fire();
            return end;
        }

        return Math.Min(deadline, end);
    }

    private void Fire()
    {
        Volatile.Write(ref _deadline, long.MaxValue);
        _fired = true;
        _client?.CancelPendingRead();
    }
}
