using Microsoft.Extensions.Time.Testing;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Tests.RateLimiting;

/// <summary>The fixed-capacity bucket table: what a new key displaces, and that nothing grows.</summary>
public sealed class BucketTableTests
{
    // One token a second, burst 1, on a clock of 1,000 ticks a second.
    private const long Interval = 1000;

    [Test]
    public void Capacity_IsRoundedUpToAPowerOfTwo()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new BucketTable(64).Capacity, Is.EqualTo(64));
            Assert.That(new BucketTable(65).Capacity, Is.EqualTo(128));
            Assert.That(new BucketTable(65_536).Capacity, Is.EqualTo(65_536));
        });
    }

    [Test]
    public void ANewKey_TakesAnIdleSlot_NotOneStillCounting()
    {
        // One set of 8 slots: every key meets in it.
        var table = new BucketTable(BucketTable.Ways);
        long now = 1;
        table.Take(Key(1), now, Interval, Interval);
        for (ulong k = 2; k <= 8; k++)
        {
            table.Take(Key(k), now, Interval, Interval);
        }

        // Later, key 1 is used again (its bucket empty again), the others are idle by then.
        now += 5 * Interval;
        Assert.That(table.Take(Key(1), now, Interval, Interval), Is.Zero);

        // A ninth key evicts an idle key, never key 1, which is still counting.
        Assert.That(table.Take(Key(9), now, Interval, Interval), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(table.Take(Key(1), now, Interval, Interval), Is.EqualTo(Interval), "key 1 kept its bucket");
            Assert.That(table.Entries, Is.EqualTo(8));
            Assert.That(table.Evictions, Is.EqualTo(1));
        });
    }

    [Test]
    public void AFullSetOfBusyKeys_GivesUpTheOneClosestToFull()
    {
        var table = new BucketTable(BucketTable.Ways);
        for (ulong k = 1; k <= 8; k++)
        {
            // Key k is taken at time k: key 1's bucket refills first.
            table.Take(Key(k), (long)k, Interval, Interval);
        }

        table.Take(Key(9), 9, Interval, Interval);
        Assert.Multiple(() =>
        {
            Assert.That(table.Take(Key(2), 9, Interval, Interval), Is.Positive, "key 2 is still in the table");
            Assert.That(table.Take(Key(1), 9, Interval, Interval), Is.Zero, "key 1 was evicted: it starts with a full bucket");
        });
    }

    [Test]
    [NonParallelizable]
    public void AMillionDistinctKeys_StayWithinTheTablesMemory()
    {
        // Through the whole limiter, as a flood of distinct IPv6 networks would go.
        var time = new FakeTimeProvider();
        const int Capacity = 65_536;
        const long TableBytes = Capacity * 16L;
        var address = new byte[16];
        address[0] = 0x20;
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1) with { Capacity = Capacity }, time);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int refused = 0;
        for (int i = 0; i < 1_000_000; i++)
        {
            // A distinct /64 each time: a distinct key.
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(address.AsSpan(4), i);
            refused += limiter.CheckAddress(address) == 0 ? 0 : 1;
            if (i % 1000 == 999)
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
            }
        }

        long allocatedByFlood = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(limiter);
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.Zero, "every key is new: each starts with a full bucket");
            // A million keys at 16 bytes would be 16 MB; the table holds its capacity and no more.
            Assert.That(heapAfter - heapBefore, Is.LessThan(TableBytes + (256 * 1024)), "heap growth");
            Assert.That(allocatedByFlood, Is.LessThan(64 * 1024), "bytes allocated by the flood itself");
            Assert.That(limiter.Table.Entries, Is.EqualTo(Capacity));
            Assert.That(limiter.Table.Evictions, Is.EqualTo(1_000_000 - Capacity));
            Assert.That(limiter.Allowed, Is.EqualTo(1_000_000));
        });
    }

    [Test]
    public void ConcurrentRequestsOfOneKey_TakeExactlyTheBurst()
    {
        var table = new BucketTable(1024);
        int allowed = 0;
        Parallel.For(0, 10_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            // Time stands still: only the burst of 100 may pass.
            if (table.Take(Key(42), 1, Interval, 100 * Interval) == 0)
            {
                Interlocked.Increment(ref allowed);
            }
        });
        Assert.That(allowed, Is.EqualTo(100));
    }

    // Distinct hashes that all fall in set 0 of a one-set table.
    private static ulong Key(ulong n) => n * 0x9E3779B97F4A7C15UL;
}
