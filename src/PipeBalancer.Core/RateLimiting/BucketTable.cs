using System.Numerics;
using System.Runtime.InteropServices;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// Token buckets for many keys in a table of fixed capacity, allocated once: memory does not
/// grow whatever keys clients send. A key is its 64-bit hash; each bucket is one 64-bit number,
/// the key's theoretical arrival time (GCRA, the generic cell rate algorithm of ATM networks,
/// which is a token bucket kept as one time instead of a count and a time): a request is
/// allowed when pushing that time one interval on keeps it within <c>burst</c> intervals of now.
/// <para>
/// The table is set-associative: the hash picks a set of <see cref="Ways"/> slots, the key is
/// looked up there, and a new key takes the slot whose time is earliest, which is an empty or
/// idle slot whenever the set has one (an idle key's bucket is full: forgetting it loses
/// nothing). Only when a whole set is busy does a new key push out a key that is still
/// counting (counted as an eviction either way).
/// </para>
/// <para>
/// No locks: a bucket moves on with one compare-and-swap of its time. A slot being handed to a
/// new key is marked <see cref="Claimed"/> for the two writes that follow; readers skip such a
/// slot rather than wait, and re-read the slot's key after its time so that a slot handed over
/// between the two reads is never charged for the wrong key. Two threads meeting a new key at
/// the same instant may each give it a slot; the spare one goes idle and is reused.
/// </para>
/// </summary>
internal sealed class BucketTable
{
    /// <summary>Slots per set: one 64-byte cache line holds the times and keys of four, so a set is two lines.</summary>
    public const int Ways = 8;

    private const long Claimed = long.MinValue;

    private readonly Slot[] _slots;
    private readonly int _setMask;
    private long _entries;
    private long _evictions;

    /// <summary>A table of at least <paramref name="capacity"/> slots (rounded up to a power of two).</summary>
    public BucketTable(int capacity)
    {
        int sets = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (capacity + Ways - 1) / Ways));
        _slots = new Slot[sets * Ways];
        _setMask = sets - 1;
    }

    /// <summary>Keys it can hold.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Slots in use (never more than <see cref="Capacity"/>).</summary>
    public long Entries => Interlocked.Read(ref _entries);

    /// <summary>Keys forgotten to make room for new ones.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>
    /// Takes a token from <paramref name="hash"/>'s bucket at <paramref name="now"/> (ticks, at
    /// least 1). <paramref name="interval"/> is the ticks per token, <paramref name="tolerance"/>
    /// burst x interval. Returns 0 when the token was taken, else the ticks until one will be there.
    /// </summary>
    public long Take(ulong hash, long now, long interval, long tolerance)
    {
        long key = hash == 0 ? 1 : (long)hash;
        var set = MemoryMarshal.CreateSpan(ref _slots[((int)(hash >> 32) & _setMask) * Ways], Ways);
        while (true)
        {
            bool raced = false;
            for (int i = 0; i < set.Length; i++)
            {
                ref var slot = ref set[i];
                if (Volatile.Read(ref slot.Key) != key)
                {
                    continue;
                }

                long tat = Volatile.Read(ref slot.Tat);
                if (tat == Claimed || Volatile.Read(ref slot.Key) != key)
                {
                    continue;
                }

                long next = Math.Max(tat, now) + interval;
                if (next - now > tolerance)
                {
                    return next - now - tolerance;
                }

                if (Interlocked.CompareExchange(ref slot.Tat, next, tat) == tat)
                {
                    return 0;
                }

                raced = true;
                break;
            }

            if (raced)
            {
                // Another request of the same key moved its bucket first: look again.
                continue;
            }

            if (TryClaim(set, key, now + interval))
            {
                return 0;
            }
        }
    }

    // A new key: into the slot with the earliest time (empty: 0; idle: at or before now).
    // False when another thread changed that slot first (the caller looks again).
    private bool TryClaim(Span<Slot> set, long key, long tat)
    {
        int victim = -1;
        long earliest = long.MaxValue;
        for (int i = 0; i < set.Length; i++)
        {
            long t = Volatile.Read(ref set[i].Tat);
            if (t != Claimed && t < earliest)
            {
                earliest = t;
                victim = i;
            }
        }

        if (victim < 0)
        {
            // Every slot of the set is being handed over by another thread this instant.
            Thread.SpinWait(1);
            return false;
        }

        ref var slot = ref set[victim];
        if (Interlocked.CompareExchange(ref slot.Tat, Claimed, earliest) != earliest)
        {
            return false;
        }

        long previous = slot.Key;
        Volatile.Write(ref slot.Key, key);
        Volatile.Write(ref slot.Tat, tat);
        Interlocked.Increment(ref previous == 0 ? ref _entries : ref _evictions);
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        // The key's 64-bit hash (0: empty) and its theoretical arrival time in ticks (0: empty).
        public long Key;
        public long Tat;
    }
}
