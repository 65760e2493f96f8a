namespace PipeBalancer.Backends;

/// <summary>
/// Caps retries at a share of the request rate over a sliding window (Envoy's and Finagle's
/// retry budget), so that during an outage retries cannot multiply the load on the backends
/// that are left: with the default 20% over 10 s, at most one request in five is a retry, plus
/// a small floor so that a quiet balancer can still retry. Lock-free: one interlocked add per
/// request into a per-second bucket.
/// </summary>
internal sealed class RetryBudget
{
    private readonly long[] _requests;
    private readonly long[] _retries;
    private readonly long[] _bucketSecond;
    private readonly double _ratio;
    private readonly int _minimum;
    private readonly TimeProvider _time;

    /// <summary>Creates a budget of <paramref name="percent"/>% of requests over <paramref name="windowSeconds"/> seconds, never below <paramref name="minimum"/>.</summary>
    public RetryBudget(int percent, int windowSeconds, int minimum, TimeProvider time)
    {
        _requests = new long[windowSeconds];
        _retries = new long[windowSeconds];
        _bucketSecond = new long[windowSeconds];
        _ratio = percent / 100.0;
        _minimum = minimum;
        _time = time;
    }

    /// <summary>Counts a request.</summary>
    public void Request() => Interlocked.Increment(ref _requests[Bucket()]);

    /// <summary>Takes one retry from the budget; false when the window's share is spent.</summary>
    public bool TryRetry()
    {
        int bucket = Bucket();
        long now = Second();
        long requests = 0;
        long retries = 0;
        for (int i = 0; i < _requests.Length; i++)
        {
            if (now - Volatile.Read(ref _bucketSecond[i]) < _requests.Length)
            {
                requests += Volatile.Read(ref _requests[i]);
                retries += Volatile.Read(ref _retries[i]);
            }
        }

        if (retries + 1 > Math.Max(_minimum, _ratio * requests))
        {
            return false;
        }

        Interlocked.Increment(ref _retries[bucket]);
        return true;
    }

    private long Second() => _time.GetTimestamp() / _time.TimestampFrequency;

    // The bucket of the current second, cleared when it is reused for a new second. Two
    // threads may both clear a stale bucket: a lost count or two at a second's edge is fine
    // for a budget.
    private int Bucket()
    {
        long second = Second();
        int bucket = (int)(second % _requests.Length);
        if (Volatile.Read(ref _bucketSecond[bucket]) != second)
        {
            Volatile.Write(ref _requests[bucket], 0);
            Volatile.Write(ref _retries[bucket], 0);
            Volatile.Write(ref _bucketSecond[bucket], second);
        }

        return bucket;
    }
}
