using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// An immutable routing table over a fixed list of servers. A membership or weight change
/// builds a new one, which the owner publishes with one reference write; lookups never lock
/// and never allocate.
/// </summary>
public abstract class Router
{
    /// <summary>Largest server count a table holds: indexes are stored as 16-bit numbers.</summary>
    public const int MaxServers = ushort.MaxValue;

    private protected Router(IReadOnlyList<BackendConfig> servers, HashFunction hash)
    {
        if (servers.Count is 0 or > MaxServers)
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
    public static Router Create(RoutingConfig routing, IReadOnlyList<BackendConfig> servers, Random? random = null) =>
        routing.Algorithm switch
        {
            RoutingAlgorithm.Ring => HashRing.Build(servers, routing.Hash, routing.VirtualNodes),
            RoutingAlgorithm.RingBounded => BoundedLoadRing.Build(servers, routing.Hash, routing.VirtualNodes, routing.LoadFactor),
            RoutingAlgorithm.Nginx => HashRing.BuildNginx(servers),
            RoutingAlgorithm.Maglev => MaglevTable.Build(servers, routing.Hash, routing.TableSize),
            RoutingAlgorithm.RoundRobin => new RoundRobinRouter(servers),
            RoutingAlgorithm.LeastConnections => new LeastConnectionsRouter(servers, random),
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
        var walk = Walk(keyHash, view, seen);
        int fallback = -1;
        while (walk.MoveNext())
        {
            int server = walk.Current;
            if (Accepts(server, view))
            {
                return server;
            }

            if (fallback < 0 && view.IsEligible(server))
            {
                fallback = server;
            }
        }

        return fallback;
    }

    /// <summary>
    /// The failover order for a key: the servers in the order this algorithm would try them.
    /// Callers that retry take the next server from the same walk, so no server is tried twice.
    /// </summary>
    public abstract ServerWalk Walk(uint keyHash, IServerView view, Span<ulong> seen);

    /// <summary>Whether <paramref name="server"/> may take the request now.</summary>
    public virtual bool Accepts(int server, IServerView view) => view.IsEligible(server);

    /// <summary>Each server's share of the key space (sums to 1), for the ring tool and stats.</summary>
    public abstract double[] KeySpaceShares();

    /// <summary>Number of points (ring) or slots (table) this router keeps.</summary>
    public abstract int Size { get; }

    /// <summary>Bytes the lookup structure holds.</summary>
    public abstract long MemoryBytes { get; }
}
