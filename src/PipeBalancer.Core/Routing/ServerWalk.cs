namespace PipeBalancer.Routing;

/// <summary>
/// The failover order for one key: from the key's position in a routing table, each distinct
/// server in the order the table lists them (clockwise on a ring), never the same one twice.
/// Allocation-free: the caller lends a bitset of <see cref="Router.SeenLength"/> words.
/// </summary>
public ref struct ServerWalk
{
    private readonly ReadOnlySpan<ushort> _order;
    private readonly Span<ulong> _seen;
    private readonly int _distinct;
    private int _position;
    private int _steps;
    private int _found;

    internal ServerWalk(ReadOnlySpan<ushort> order, int start, int distinct, Span<ulong> seen)
    {
        _order = order;
        _position = start;
        _distinct = distinct;
        _seen = seen;
        seen.Clear();
    }

    /// <summary>The server index the walk is at.</summary>
    public int Current { get; private set; } = -1;

    /// <summary>Moves to the next server not yet visited; false when every server was visited.</summary>
    public bool MoveNext()
    {
        var order = _order;
        while (_found < _distinct && _steps < order.Length)
        {
            int server = order[_position];
            if (++_position == order.Length)
            {
                _position = 0;
            }

            _steps++;
            ref ulong word = ref _seen[server >> 6];
            ulong bit = 1UL << server;
            if ((word & bit) == 0)
            {
                word |= bit;
                _found++;
                Current = server;
                return true;
            }
        }

        return false;
    }
}
