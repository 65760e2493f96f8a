using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// An immutable routing table over a fixed list of servers. A membership or weight change
/// builds a new one, which the owner publishes with one reference write; lookups never lock
/// and never allocate.
/// </summary>
internal abstract class Router
{
    /// <summary>Largest server count a table holds: indexes are stored as 16-bit numbers.</summary>
    public const int MaxServers = ushort.MaxValue;

    private protected Router(IReadOnlyList<BackendConfig> servers, HashFunction hash, bool mayBeEmpty = false)
    {
        if ((servers.Count == 0 && !mayBeEmpty) || servers.Count > MaxServers)
        {
            throw new ArgumentOutOfRangeException(nameof(servers), servers.Count, $"a routing table needs 1..{MaxServers} servers");
        }

        Servers = servers;
        Hash = hash;
    }

    /// <summary>The servers, in configuration order; routing answers with indexes into this list.</summary>
    public IReadOnlyList<BackendConfig> Servers { get; }

    /// <summary>The function that hashes keys.</summary>
    public HashFunction Hash { get; }

    /// <summary>Which algorithm this table implements.</summary>
    public abstract RoutingAlgorithm Algorithm { get; }

    /// <summary>Whether the key decides the server (false for round robin and least connections).</summary>
    public virtual bool UsesKey => true;

    /// <summary>Words of the bitset a <see cref="Walk"/> needs: one bit per server.</summary>
    public int SeenLength => (Servers.Count + 63) >> 6;

    /// <summary>Builds the table <paramref name="routing"/> describes over <paramref name="servers"/>.</summary>
    /// <param name="routing">The routing section of lb.json.</param>
    /// <param name="servers">The backends, in configuration order.</param>
    /// <param name="random">Random choices for least-connections; null for the shared, thread-safe one.</param>
    /// <param name="shares">
    /// Per server, the part (0..1] of its points it has now (slow start), or null for all. A
    /// server's partial points are a prefix of its full ones, so as its share grows, keys move
    /// only to it. Maglev, round robin and least connections scale the server's weight instead.
    /// </param>
    public static Router Create(RoutingConfig routing, IReadOnlyList<BackendConfig> servers, Random? random = null, IReadOnlyList<double>? shares = null) =>
        servers.Count == 0 ? new EmptyRouter(routing) : routing.Algorithm switch
        {
            RoutingAlgorithm.Ring => HashRing.Build(servers, routing.Hash, routing.VirtualNodes, shares),
            RoutingAlgorithm.RingBounded => BoundedLoadRing.Build(servers, routing.Hash, routing.VirtualNodes, routing.LoadFactor, shares),
            RoutingAlgorithm.Nginx => HashRing.BuildNginx(servers, shares),
            RoutingAlgorithm.Maglev => MaglevTable.Build(servers, routing.Hash, routing.TableSize, shares),
            RoutingAlgorithm.RoundRobin => new RoundRobinRouter(servers, shares),
            RoutingAlgorithm.LeastConnections => new LeastConnectionsRouter(servers, random, shares),
            _ => throw new ArgumentOutOfRangeException(nameof(routing)),
        };

    /// <summary>Hashes a key with this table's function.</summary>
    public uint HashKey(ReadOnlySpan<byte> key) => KeyHash.Hash(Hash, key);

    /// <summary>The server for <paramref name="key"/>, or -1 when none is eligible.</summary>
    public int Select(ReadOnlySpan<byte> key, IServerView view) => Select(HashKey(key), view);

    /// <summary>
    /// The first server of the key's walk that <see cref="Accepts"/>; when load caps refuse every
    /// eligible server, the first eligible one; -1 when none is eligible.
    /// </summary>
    public int Select(uint keyHash, IServerView view)
    {
        Span<ulong> seen = stackalloc ulong[SeenLength];
        var walk = Begin(keyHash, view, seen);
        return Next(ref walk, seen, view);
    }

    /// <summary>
    /// The failover order for a key: the servers in the order this algorithm would try them.
    /// Callers that retry take the next server from the same walk, so no server is tried twice.
    /// </summary>
    public ServerWalk Walk(uint keyHash, IServerView view, Span<ulong> seen) => new(this, Start(keyHash, view), seen);

    /// <summary>Starts a walk for <paramref name="keyHash"/>, clearing <paramref name="seen"/>.</summary>
    public WalkState Begin(uint keyHash, IServerView view, Span<ulong> seen)
    {
        seen.Clear();
        return Start(keyHash, view);
    }

    /// <summary>
    /// The next server of the walk that <see cref="Accepts"/> (eligible, and under any load cap);
    /// when caps refuse every eligible server, the first eligible one; -1 when none is left.
    /// </summary>
    public int Next(ref WalkState walk, Span<ulong> seen, IServerView view)
    {
        int server;
        while ((server = Step(ref walk, seen)) >= 0)
        {
            if (Accepts(server, view))
            {
                walk.Returned = true;
                return server;
            }

            if (walk.Fallback == 0 && view.IsEligible(server))
            {
                // Stored plus one so that a default WalkState means "none".
                walk.Fallback = server + 1;
            }
        }

        if (!walk.Returned && walk.Fallback > 0)
        {
            walk.Returned = true;
            return walk.Fallback - 1;
        }

        return -1;
    }

    /// <summary>The order the walk follows: a server index per entry, repeated entries skipped.</summary>
    private protected abstract ReadOnlySpan<ushort> Order { get; }

    /// <summary>How many distinct servers <see cref="Order"/> holds.</summary>
    private protected abstract int Distinct { get; }

    /// <summary>Where in <see cref="Order"/> the walk for <paramref name="keyHash"/> starts.</summary>
    private protected abstract int StartPosition(uint keyHash, IServerView view);

    private WalkState Start(uint keyHash, IServerView view) => new() { Position = StartPosition(keyHash, view) };

    /// <summary>The next server not yet visited, or -1.</summary>
    internal int Step(ref WalkState walk, Span<ulong> seen)
    {
        var order = Order;
        while (walk.Found < Distinct && walk.Steps < order.Length)
        {
            int server = order[walk.Position];
            if (++walk.Position == order.Length)
            {
                walk.Position = 0;
            }

            walk.Steps++;
            ref ulong word = ref seen[server >> 6];
            ulong bit = 1UL << server;
            if ((word & bit) == 0)
            {
                word |= bit;
                walk.Found++;
                return server;
            }
        }

        return -1;
    }

    /// <summary>Whether <paramref name="server"/> may take the request now.</summary>
    public virtual bool Accepts(int server, IServerView view) => view.IsEligible(server);

    /// <summary>Each server's share of the key space (sums to 1), for the ring tool and stats.</summary>
    public abstract double[] KeySpaceShares();

    /// <summary>Number of points (ring) or slots (table) this router keeps.</summary>
    public abstract int Size { get; }

    /// <summary>Bytes the lookup structure holds.</summary>
    public abstract long MemoryBytes { get; }
}
