using System.Diagnostics;

namespace PipeBalancer.Backends;

/// <summary>
/// Response-head latencies of one backend over the last <see cref="WindowSeconds"/> seconds,
/// as counts in log-linear buckets (8 per power of two, so a percentile read from them is
/// within 12.5% of the true value). Recording is one interlocked increment and takes no lock;
/// the window is <see cref="Slots"/> slices that are cleared as time reaches them again.
/// </summary>
internal sealed class LatencyWindow
{
    /// <summary>Slices in the window.</summary>
    public const int Slots = 6;

    /// <summary>Length of one slice.</summary>
    public const int SlotSeconds = 10;

    /// <summary>How far back percentiles look.</summary>
    public const int WindowSeconds = Slots * SlotSeconds;

    // Microseconds below 16 get a bucket each; above, 8 buckets per power of two up to 2^31 us (about 36 minutes).
    private const int Linear = 16;
    private const int SubBuckets = 8;
    private const int Buckets = Linear + (31 - 4 + 1) * SubBuckets;

    private readonly long[] _epochs = new long[Slots];
    private readonly int[][] _counts = Enumerable.Range(0, Slots).Select(_ => new int[Buckets]).ToArray();
    private readonly long _slotTicks = Stopwatch.Frequency * SlotSeconds;

    /// <summary>Creates an empty window.</summary>
    public LatencyWindow()
    {
        Array.Fill(_epochs, -1);
    }

    /// <summary>Records a latency measured between two <see cref="Stopwatch"/> timestamps, at time <paramref name="now"/>.</summary>
    public void Record(long elapsedTicks, long now)
    {
        long micros = elapsedTicks <= 0 ? 0 : (long)(elapsedTicks * (1_000_000.0 / Stopwatch.Frequency));
        long epoch = now / _slotTicks;
        int slot = (int)(epoch % Slots);
        long seen = Volatile.Read(ref _epochs[slot]);
        if (seen != epoch && Interlocked.CompareExchange(ref _epochs[slot], epoch, seen) == seen)
        {
            // The first request of a new slice clears what the slice held a window ago. A
            // request recorded by another thread during the clear may be lost: these are
            // statistics, and taking a lock here would cost every request.
            Array.Clear(_counts[slot]);
        }

        Interlocked.Increment(ref _counts[slot][BucketOf(micros)]);
    }

    /// <summary>Percentiles over the window ending at <paramref name="now"/>.</summary>
    public LatencySummary Summarize(long now)
    {
        long epoch = now / _slotTicks;
        var merged = new long[Buckets];
        long samples = 0;
        for (int slot = 0; slot < Slots; slot++)
        {
            long e = Volatile.Read(ref _epochs[slot]);
            if (e < 0 || e > epoch || e <= epoch - Slots)
            {
                continue;
            }

            var counts = _counts[slot];
            for (int b = 0; b < Buckets; b++)
            {
                int c = Volatile.Read(ref counts[b]);
                merged[b] += c;
                samples += c;
            }
        }

        return samples == 0
            ? new LatencySummary(0, null, null, null)
            : new LatencySummary(samples, Percentile(merged, samples, 0.50), Percentile(merged, samples, 0.90), Percentile(merged, samples, 0.99));
    }

    internal static int BucketOf(long micros)
    {
        if (micros < Linear)
        {
            return (int)micros;
        }

        if (micros >= 1L << 31)
        {
            return Buckets - 1;
        }

        int exponent = 63 - (int)long.LeadingZeroCount(micros);
        int sub = (int)(micros >> (exponent - 3)) & (SubBuckets - 1);
        return Linear + (exponent - 4) * SubBuckets + sub;
    }

    // The bucket's middle, in microseconds.
    internal static double MidpointOf(int bucket)
    {
        if (bucket < Linear)
        {
            return bucket;
        }

        int exponent = 4 + (bucket - Linear) / SubBuckets;
        int sub = (bucket - Linear) % SubBuckets;
        double width = Math.Pow(2, exponent - 3);
        return Math.Pow(2, exponent) + (sub + 0.5) * width;
    }

    private static double Percentile(long[] counts, long samples, double quantile)
    {
        // The smallest bucket at or below which the quantile's share of samples lies.
        long rank = Math.Max(1, (long)Math.Ceiling(samples * quantile));
        long seen = 0;
        for (int b = 0; b < counts.Length; b++)
        {
            seen += counts[b];
            if (seen >= rank)
            {
                return MidpointOf(b) / 1000.0;
            }
        }

        return MidpointOf(counts.Length - 1) / 1000.0;
    }
}

/// <summary>Latency percentiles in milliseconds (null without samples).</summary>
internal readonly record struct LatencySummary(long Samples, double? P50, double? P90, double? P99);
