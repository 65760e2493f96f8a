using System.Diagnostics;
using PipeBalancer.Backends;

namespace PipeBalancer.Tests.Backends;

public sealed class LatencyWindowTests
{
    private static readonly long Second = Stopwatch.Frequency;
    private static readonly long Millisecond = Stopwatch.Frequency / 1000;

    [Test]
    public void Percentiles_OfAKnownSpread_AreWithinTheBucketError()
    {
        var window = new LatencyWindow();
        long now = 100 * Second;

        // 1..100 ms once each: p50 is 50 ms, p90 90 ms, p99 99 ms.
        for (int ms = 1; ms <= 100; ms++)
        {
            window.Record(ms * Millisecond, now);
        }

        var summary = window.Summarize(now);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Samples, Is.EqualTo(100));
            Assert.That(summary.P50, Is.EqualTo(50).Within(12.5).Percent);
            Assert.That(summary.P90, Is.EqualTo(90).Within(12.5).Percent);
            Assert.That(summary.P99, Is.EqualTo(99).Within(12.5).Percent);
        });
    }

    [Test]
    public void Empty_HasNoPercentiles()
    {
        var summary = new LatencyWindow().Summarize(5 * Second);
        Assert.That(summary, Is.EqualTo(new LatencySummary(0, null, null, null)));
    }

    [Test]
    public void Samples_OlderThanTheWindow_AreForgotten()
    {
        var window = new LatencyWindow();
        long start = 1000 * Second;
        window.Record(500 * Millisecond, start);
        window.Record(1 * Millisecond, start + 30 * Second);
        Assert.That(window.Summarize(start + 30 * Second).Samples, Is.EqualTo(2));

        // A window later the slow sample's slice has aged out; the recent one is still in.
        var later = window.Summarize(start + LatencyWindow.WindowSeconds * Second + Second);
        Assert.Multiple(() =>
        {
            Assert.That(later.Samples, Is.EqualTo(1));
            Assert.That(later.P99, Is.EqualTo(1).Within(12.5).Percent);
        });
    }

    [Test]
    public void ASliceReused_AfterAWindow_StartsEmpty()
    {
        var window = new LatencyWindow();
        long start = 1000 * Second;
        window.Record(800 * Millisecond, start);
        long sameSliceNextLap = start + LatencyWindow.WindowSeconds * Second;
        window.Record(2 * Millisecond, sameSliceNextLap);
        var summary = window.Summarize(sameSliceNextLap);
        Assert.That(summary.Samples, Is.EqualTo(1));
        Assert.That(summary.P50, Is.EqualTo(2).Within(12.5).Percent);
    }

    [Test]
    public void Buckets_AreOrdered_AndTheirMidpointsLieInside()
    {
        int previous = -1;
        for (long micros = 0; micros < 1L << 33; micros = micros * 5 / 4 + 1)
        {
            int bucket = LatencyWindow.BucketOf(micros);
            Assert.That(bucket, Is.GreaterThanOrEqualTo(previous), $"bucket of {micros} us");
            if (micros < 1L << 31)
            {
                double midpoint = LatencyWindow.MidpointOf(bucket);
                Assert.That(Math.Abs(midpoint - micros), Is.LessThanOrEqualTo(Math.Max(1, micros * 0.125)), $"midpoint of the bucket of {micros} us");
            }

            previous = bucket;
        }
    }
}
