using System.Diagnostics;

namespace PipeBalancer.Backends;

/// <summary>Why a request to a backend failed.</summary>
internal enum BackendErrorKind
{
    /// <summary>The connection could not be opened (refused, unreachable, connect timeout).</summary>
    Connect,

    /// <summary>No response head within <c>timeouts.responseHeadMs</c>.</summary>
    Timeout,

    /// <summary>The connection was reset or closed before a complete response head.</summary>
    Reset,

    /// <summary>The response head was not valid HTTP/1.x.</summary>
    BadResponse,

    /// <summary>A 5xx response, counted as a failure when <c>circuit.count5xx</c> is on.</summary>
    Status5xx,
}

/// <summary>
/// What the admin app shows of one backend beyond routing state: responses by status class,
/// errors by kind, bytes each way, response latency, health checks and connections. Each
/// update is one interlocked operation on this backend's own fields, so backends do not
/// contend with each other.
/// </summary>
internal sealed class BackendStats
{
    /// <summary>Error kinds, in <see cref="BackendErrorKind"/> order.</summary>
    public const int ErrorKinds = 5;

    private readonly long[] _responses = new long[StatusClasses.Count];
    private readonly long[] _errors = new long[ErrorKinds];
    private long _bytesSent;
    private long _bytesReceived;
    private long _checks;
    private long _failedChecks;
    private int _openConnections;

    /// <summary>Response-head latency over the recent window.</summary>
    public LatencyWindow Latency { get; } = new();

    /// <summary>Responses relayed, by status class (index 0 is 1xx).</summary>
    public long Responses(int statusClass) => Interlocked.Read(ref _responses[statusClass]);

    /// <summary>Failures of <paramref name="kind"/>.</summary>
    public long Errors(BackendErrorKind kind) => Interlocked.Read(ref _errors[(int)kind]);

    /// <summary>Bytes sent to the backend.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes received from the backend.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Health checks sent (not counted as requests).</summary>
    public long Checks => Interlocked.Read(ref _checks);

    /// <summary>Health checks that failed.</summary>
    public long FailedChecks => Interlocked.Read(ref _failedChecks);

    /// <summary>Connections open to the backend, idle ones included.</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);

    internal void Response(int status, long sentAt)
    {
        long now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _responses[StatusClasses.Of(status)]);
        Latency.Record(now - sentAt, now);
    }

    internal void Error(BackendErrorKind kind) => Interlocked.Increment(ref _errors[(int)kind]);

    internal void Transferred(long sent, long received)
    {
        if (sent != 0)
        {
            Interlocked.Add(ref _bytesSent, sent);
        }

        if (received != 0)
        {
            Interlocked.Add(ref _bytesReceived, received);
        }
    }

    internal void Check(bool passed)
    {
        Interlocked.Increment(ref _checks);
        if (!passed)
        {
            Interlocked.Increment(ref _failedChecks);
        }
    }

    /// <summary>Adds the counts of <paramref name="other"/> (a removed backend folded into a total); its latency and open connections are not counts and stay out.</summary>
    internal void Add(BackendStats other)
    {
        for (int c = 0; c < _responses.Length; c++)
        {
            Interlocked.Add(ref _responses[c], other.Responses(c));
        }

        for (int k = 0; k < _errors.Length; k++)
        {
            Interlocked.Add(ref _errors[k], other.Errors((BackendErrorKind)k));
        }

        Transferred(other.BytesSent, other.BytesReceived);
        Interlocked.Add(ref _checks, other.Checks);
        Interlocked.Add(ref _failedChecks, other.FailedChecks);
    }

    internal void ConnectionOpened() => Interlocked.Increment(ref _openConnections);

    internal void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);
}

/// <summary>HTTP status classes as indexes: 1xx is 0, 5xx is 4.</summary>
internal static class StatusClasses
{
    /// <summary>How many classes there are.</summary>
    public const int Count = 5;

    /// <summary>Names as shown in stats.</summary>
    public static readonly string[] Names = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    /// <summary>The class index of <paramref name="status"/> (clamped to 1xx..5xx).</summary>
    public static int Of(int status) => Math.Clamp(status / 100 - 1, 0, Count - 1);
}
