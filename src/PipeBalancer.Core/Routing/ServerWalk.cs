namespace PipeBalancer.Routing;

/// <summary>
/// Where a failover walk is: a plain struct, so it can live across awaits (the data plane
/// connects, fails and moves on). <see cref="Router.Next"/> advances it.
/// </summary>
internal struct WalkState
{
    internal int Position;
    internal int Steps;
    internal int Found;
    internal int Fallback;
    internal bool Returned;
}

/// <summary>
/// The failover order for one key: from the key's position in a routing table, each distinct
/// server in the order the table lists them (clockwise on a ring), never the same one twice.
/// Allocation-free: the caller lends a bitset of <see cref="Router.SeenLength"/> words.
/// </summary>
internal ref struct ServerWalk
{
    private readonly Router _router;
    private readonly Span<ulong> _seen;
    private WalkState _state;

    internal ServerWalk(Router router, WalkState state, Span<ulong> seen)
    {
        _router = router;
        _state = state;
        _seen = seen;
        seen.Clear();
    }

    /// <summary>The server index the walk is at.</summary>
    public int Current { get; private set; } = -1;

    /// <summary>Moves to the next server not yet visited; false when every server was visited.</summary>
    public bool MoveNext()
    {
        Current = _router.Step(ref _state, _seen);
        return Current >= 0;
    }
}
