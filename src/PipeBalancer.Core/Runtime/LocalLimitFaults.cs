using Microsoft.Win32.SafeHandles;

namespace PipeBalancer.Runtime;

/// <summary>
/// Failures on a limit of the balancer's own machine (out of file descriptors, EMFILE/ENFILE, or
/// of local ports) when accepting a client or connecting to a backend. They are charged to no
/// backend; while they keep happening the data plane cannot work, so <c>/readyz</c> reports not
/// ready until none has happened for <see cref="QuietMs"/>.
/// <para>
/// A process at its descriptor limit also fails the runtime's own file reads (memory status,
/// the log), which can end it. So a few descriptors are held in reserve from the start
/// (<see cref="HoldReserve"/>) and given back at the first fault, and accepting stops at the
/// number of client connections open when it happened, less a margin, until the faults have
/// stopped and a quarter of those connections have closed: then the reserve is taken again.
/// Before any of that, listeners accept no more clients than the descriptor limit leaves room
/// for (<see cref="SetBudget"/>), so that a flood finds a full backlog rather than a process
/// out of descriptors.
/// </para>
/// <para>
/// The budget is never more than the descriptors actually free: a process whose own files
/// leave little room (the JIT executable holds about two descriptors per loaded assembly) gets
/// a budget of one rather than a fixed minimum. A larger floor let the data plane take the
/// last descriptors, and the runtime's next lazy load (an assembly, a type initializer) failed
/// for the life of the process: the admin app's first response after a flood threw a
/// <see cref="TypeInitializationException"/> for every request from then on.
/// </para>
/// </summary>
internal sealed class LocalLimitFaults : IDisposable
{
    /// <summary>How long after the last fault the data plane counts as working again.</summary>
    public const int QuietMs = 5_000;

    /// <summary>Descriptors held back for the runtime while the data plane is out of them.</summary>
    private const int Reserve = 32;

    private readonly Lock _lock = new();
    private readonly List<SafeFileHandle> _reserve = [];
    private bool _reserving;
    private long _total;
    private long _lastAt = long.MinValue / 2;
    private long _ceiling = long.MaxValue;
    private long _budget = long.MaxValue;
    private int _atBudget;
    private int _watching;
    private TaskCompletionSource? _room;

    /// <summary>The most client connections the descriptor limit leaves room for (each may hold a backend connection too).</summary>
    public long Budget => Volatile.Read(ref _budget);

    /// <summary>
    /// Sets <see cref="Budget"/> from the process's descriptor limit and the descriptors it holds
    /// once started (the reserve among them): half of what is left after as many again for the
    /// runtime's own files, since a client connection and its backend connection take one each;
    /// at least one, so that a process with almost no room still serves, one client at a time.
    /// </summary>
    /// <returns>The budget.</returns>
    public long SetBudget(long limit, long inUse)
    {
        long budget = limit <= 0 ? long.MaxValue : Math.Max(1, (limit - inUse - Reserve) / 2);
        Volatile.Write(ref _budget, budget);
        return budget;
    }

    /// <summary>
    /// Whether accepting stops because <paramref name="openConnections"/> reached <see cref="Budget"/>;
    /// counts as a fault (<c>/readyz</c> not ready). <paramref name="episodeStart"/> is true on the
    /// first time since accepting last went on, worth a log line.
    /// </summary>
    public bool AtBudget(long openConnections, out bool episodeStart)
    {
        if (openConnections < Volatile.Read(ref _budget))
        {
            Volatile.Write(ref _atBudget, 0);
            episodeStart = false;
            return false;
        }

        bool quietBefore = !Recent;
        episodeStart = Interlocked.Exchange(ref _atBudget, 1) == 0 && quietBefore;
        Interlocked.Exchange(ref _lastAt, Environment.TickCount64);
        return true;
    }

    private long _accepted;

    /// <summary>Client sockets accepted and not yet closed, across listeners (counted from the accept, before any handler runs).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>A listener accepted a client socket.</summary>
    public void Opened() => Interlocked.Increment(ref _accepted);

    /// <summary>An accepted client socket closed: a listener waiting for room (<see cref="WaitForRoomAsync"/>) tries again.</summary>
    public void Closed()
    {
        Interlocked.Decrement(ref _accepted);
        if (Volatile.Read(ref _room) is { } room && Interlocked.CompareExchange(ref _room, null, room) == room)
        {
            room.TrySetResult();
        }
    }

    /// <summary>
    /// Waits until a client connection closes or <paramref name="maxMs"/> pass, whichever comes
    /// first (only while accepting is paused; nothing is allocated when no listener waits).
    /// </summary>
    public async Task WaitForRoomAsync(int maxMs, CancellationToken cancellationToken)
    {
        var room = Volatile.Read(ref _room);
        if (room is null)
        {
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            room = Interlocked.CompareExchange(ref _room, created, null) ?? created;
        }

        using var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(maxMs, delay.Token);
        if (await Task.WhenAny(room.Task, timer).ConfigureAwait(false) == room.Task)
        {
            await delay.CancelAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Calls <paramref name="quiet"/> once, when no fault has happened for <see cref="QuietMs"/>
    /// (the end of the episode that just started: <c>/readyz</c> no longer counts it). One
    /// watch at a time; a call while one runs does nothing.
    /// </summary>
    public void WhenQuiet(Action quiet)
    {
        if (Interlocked.Exchange(ref _watching, 1) == 0)
        {
            _ = WatchAsync(quiet);
        }
    }

    private async Task WatchAsync(Action quiet)
    {
        while (Recent)
        {
            await Task.Delay(QuietMs / 10).ConfigureAwait(false);
        }

        Volatile.Write(ref _watching, 0);
        quiet();
    }

    /// <summary>Faults since start.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Whether a fault happened within the last <see cref="QuietMs"/>.</summary>
    public bool Recent => Environment.TickCount64 - Volatile.Read(ref _lastAt) < QuietMs;

    /// <summary>Opens the reserve (the executable does; in-process tests do not).</summary>
    public void HoldReserve()
    {
        lock (_lock)
        {
            _reserving = true;
            Refill();
        }
    }

    /// <summary>
    /// Records one fault with <paramref name="openConnections"/> client connections open; true
    /// when it starts a new episode (none in the <see cref="QuietMs"/> before), worth a log line.
    /// </summary>
    public bool Record(long openConnections)
    {
        long now = Environment.TickCount64;
        Interlocked.Increment(ref _total);
        long previous = Interlocked.Exchange(ref _lastAt, now);
        lock (_lock)
        {
            if (_ceiling == long.MaxValue)
            {
                _ceiling = Math.Max(1, openConnections - Reserve / 4);
            }

            foreach (var handle in _reserve)
            {
                handle.Dispose();
            }

            _reserve.Clear();
        }

        return now - previous >= QuietMs;
    }

    /// <summary>Whether a listener may accept another client with <paramref name="openConnections"/> open.</summary>
    public bool MayAccept(long openConnections)
    {
        long ceiling = Volatile.Read(ref _ceiling);
        if (ceiling == long.MaxValue || openConnections < ceiling)
        {
            return true;
        }

        if (!Recent && openConnections < ceiling * 3 / 4)
        {
            lock (_lock)
            {
                _ceiling = long.MaxValue;
                Refill();
            }

            return true;
        }

        return false;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _reserving = false;
            foreach (var handle in _reserve)
            {
                handle.Dispose();
            }

            _reserve.Clear();
        }
    }

    private void Refill()
    {
        try
        {
            while (_reserving && _reserve.Count < Reserve)
            {
                _reserve.Add(File.OpenHandle("/dev/null"));
            }
        }
        catch (IOException)
        {
            // Still short of descriptors: the next lift tries again.
        }
        catch (UnauthorizedAccessException)
        {
            // No /dev/null (a sandbox): no reserve.
        }
    }
}
