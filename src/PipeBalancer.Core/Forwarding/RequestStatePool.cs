using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// The <see cref="RequestState"/>s that no request is using, shared by every HTTP listener. A
/// session rents one when a request's first byte arrives and returns it when it waits for the
/// next request, so the states in use follow the requests in progress, not the connections
/// open. Renting and returning allocate nothing once the pool holds a state per request in
/// progress; beyond <see cref="MaxRetained"/> free states, returned ones are left to the
/// collector (as Kestrel's and ObjectPool's pools do), so a burst does not hold its memory for good.
/// </summary>
internal sealed class RequestStatePool(ProxyState state)
{
    /// <summary>Free states kept: enough for this many requests between two of their steps at once (about 1.7 KB each).</summary>
    public const int MaxRetained = 1024;

    // Last returned, first rented: its heads and tables are the likeliest still in cache.
    private readonly PerCoreStack<RequestState> _free = new(MaxRetained);
    private long _created;
    private long _dropped;

    /// <summary>Free states held.</summary>
    public int Free => _free.Count;

    /// <summary>States rented and not returned: the requests in progress (exact when none is being rented or returned).</summary>
    public long InUse => Volatile.Read(ref _created) - Volatile.Read(ref _dropped) - Free;

    /// <summary>A free state that fits the limits in force, or a new one.</summary>
    public RequestState Rent()
    {
        var limits = state.Current.Config.Limits;
        while (_free.TryPop(out var free))
        {
            if (free.Fits(limits))
            {
                return free;
            }

            // Made under limits that a reload has since changed.
            Discard(free);
        }

        Interlocked.Increment(ref _created);
        return new RequestState(state, limits);
    }

    /// <summary>Takes back a state whose request is over (it must be unbound already).</summary>
    public void Return(RequestState free)
    {
        if (!_free.TryPush(free))
        {
            Discard(free);
        }
    }

    /// <summary>
    /// Lets a rented state go without taking it back (a body pump may still be running on it).
    /// Not disposed: its buffers go back to no pool, so a pump still copying into its replay
    /// buffer can never write into an array another request has rented since.
    /// </summary>
    public void Drop() => Interlocked.Increment(ref _dropped);

    // A state nothing uses any more: its buffers go back to their pools.
    private void Discard(RequestState free)
    {
        Interlocked.Increment(ref _dropped);
        free.Dispose();
    }
}
