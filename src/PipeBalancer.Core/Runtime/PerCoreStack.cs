using System.Diagnostics.CodeAnalysis;

namespace PipeBalancer.Runtime;

/// <summary>
/// The free items of a pool, last in first out, in one short stack per processor (as the
/// runtime's shared array pool keeps its arrays). A thread takes from and gives back to the
/// stack of the processor it runs on, and only when that one is empty or full does it try the
/// others. So the item handed out is the one most recently given back on that processor, whose
/// memory is still in that processor's cache: a first-in-first-out queue hands out the one
/// idle longest, and after a burst has filled the pool, every rent touches cold memory (a
/// 256 KB response cost about 30% more CPU, a 64 KB POST about 40% more, after 1,000
/// connections had filled the pools; docs/performance.md). Each stack has a lock of its own, held for a push or a pop, which
/// threads on different processors do not share.
/// </summary>
internal sealed class PerCoreStack<T> where T : class
{
    private readonly Stripe[] _stripes;

    /// <summary>Creates stacks that hold at most <paramref name="capacity"/> items together, one stack per processor unless <paramref name="stripes"/> says otherwise.</summary>
    public PerCoreStack(int capacity, int stripes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(stripes);
        if (stripes == 0)
        {
            stripes = Environment.ProcessorCount;
        }

        // The capacity shared out exactly: the first (capacity % stripes) stacks take one more.
        _stripes = new Stripe[stripes];
        for (var i = 0; i < stripes; i++)
        {
            _stripes[i] = new Stripe(capacity / stripes + (i < capacity % stripes ? 1 : 0));
        }
    }

    /// <summary>Items held (exact when nobody is pushing or popping).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var stripe in _stripes)
            {
                count += stripe.Count;
            }

            return count;
        }
    }

    /// <summary>The item given back last on this processor, else one from another processor's stack; false when all are empty.</summary>
    public bool TryPop([MaybeNullWhen(false)] out T item)
    {
        var stripes = _stripes;
        var start = Home(stripes.Length);
        for (var i = 0; i < stripes.Length; i++)
        {
            if (stripes[Wrap(start + i, stripes.Length)].TryPop(out item))
            {
                return true;
            }
        }

        item = null;
        return false;
    }

    /// <summary>Keeps <paramref name="item"/> on this processor's stack, else on another's; false when all are full.</summary>
    public bool TryPush(T item)
    {
        var stripes = _stripes;
        var start = Home(stripes.Length);
        for (var i = 0; i < stripes.Length; i++)
        {
            if (stripes[Wrap(start + i, stripes.Length)].TryPush(item))
            {
                return true;
            }
        }

        return false;
    }

    // The stripe i places after the home one, round the array.
    private static int Wrap(int index, int stripes) => index >= stripes ? index - stripes : index;

    private static int Home(int stripes) => stripes == 1 ? 0 : Thread.GetCurrentProcessorId() % stripes;

    // One processor's stack. Its array starts small and doubles up to its share of the
    // capacity, so a pool that never fills (most of the per-method ones) never holds a big array.
    private sealed class Stripe(int capacity)
    {
        private readonly Lock _lock = new();
        private T?[] _items = [];
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public bool TryPop([MaybeNullWhen(false)] out T item)
        {
            // An empty stack is passed over without taking its lock.
            if (Volatile.Read(ref _count) != 0)
            {
                lock (_lock)
                {
                    var count = _count;
                    if (count != 0)
                    {
                        count--;
                        item = _items[count]!;
                        _items[count] = null;
                        Volatile.Write(ref _count, count);
                        return true;
                    }
                }
            }

            item = null;
            return false;
        }

        public bool TryPush(T item)
        {
            if (Volatile.Read(ref _count) >= capacity)
            {
                return false;
            }

            lock (_lock)
            {
                var count = _count;
                if (count >= capacity)
                {
                    return false;
                }

                if (count == _items.Length)
                {
                    Array.Resize(ref _items, Math.Min(capacity, Math.Max(8, count * 2)));
                }

                _items[count] = item;
                Volatile.Write(ref _count, count + 1);
                return true;
            }
        }
    }
}
