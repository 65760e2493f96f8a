namespace PipeBalancer.Runtime;

/// <summary>
/// Failures on a limit of the balancer's own machine (out of file descriptors, EMFILE/ENFILE, or
/// of local ports) when accepting a client or connecting to a backend. They are charged to no
/// backend; while they keep happening the data plane cannot work, so <c>/readyz</c> reports not
/// ready until none has happened for <see cref="QuietMs"/>.
/// </summary>
internal sealed class LocalLimitFaults
{
    /// <summary>How long after the last fault the data plane counts as working again.</summary>
    public const int QuietMs = 5_000;

    private long _total;
    private long _lastAt = long.MinValue / 2;

    /// <summary>Faults since start.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Records one fault; true when it starts a new episode (none in the <see cref="QuietMs"/> before), which is worth a log line.</summary>
    public bool Record()
    {
        long now = Environment.TickCount64;
        Interlocked.Increment(ref _total);
        long previous = Interlocked.Exchange(ref _lastAt, now);
        return now - previous >= QuietMs;
    }

    /// <summary>Whether a fault happened within the last <see cref="QuietMs"/>.</summary>
    public bool Recent => Environment.TickCount64 - Volatile.Read(ref _lastAt) < QuietMs;
}
