using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// Weighted round robin without affinity. The schedule is precomputed so a pick is one atomic
/// increment: stride scheduling puts a server of weight w at passes (k + 1/2) / w, which
/// interleaves heavy and light servers smoothly instead of sending a weight-5 server five
/// requests in a row.
/// </summary>
internal sealed class RoundRobinRouter : Router
{
    private readonly ushort[] _schedule;
    private int _next = -1;

    /// <summary>Builds the schedule for <paramref name="servers"/>.</summary>
    /// <param name="servers">The servers.</param>
    /// <param name="shares">Per server, the part of its weight it has now (slow start), or null.</param>
    public RoundRobinRouter(IReadOnlyList<BackendConfig> servers, IReadOnlyList<double>? shares = null)
        : base(servers, HashFunction.XxHash3)
    {
        // A ramping server's weight is scaled in tenths, the slow-start step.
        int scale = shares is null || shares.All(s => s >= 1) ? 1 : 10;
        var weights = servers.Select((s, i) => Math.Max(1, (int)Math.Round(s.Weight * scale * (shares is null ? 1.0 : Math.Min(1.0, shares[i]))))).ToArray();
        int gcd = 0;
        foreach (int w in weights)
        {
            gcd = Gcd(gcd, w);
        }

        var entries = new List<(double Pass, string Id, ushort Server)>();
        for (int i = 0; i < servers.Count; i++)
        {
            int w = weights[i] / gcd;
            for (int k = 0; k < w; k++)
            {
                entries.Add(((k + 0.5) / w, servers[i].Id, (ushort)i));
            }
        }

        entries.Sort((a, b) => a.Pass != b.Pass ? a.Pass.CompareTo(b.Pass) : string.CompareOrdinal(a.Id, b.Id));
        _schedule = entries.Select(e => e.Server).ToArray();
    }

    /// <inheritdoc />
    public override RoutingAlgorithm Algorithm => RoutingAlgorithm.RoundRobin;

    /// <inheritdoc />
    public override bool UsesKey => false;

    /// <inheritdoc />
    public override int Size => _schedule.Length;

    /// <inheritdoc />
    public override long MemoryBytes => (long)_schedule.Length * sizeof(ushort);

    private protected override ReadOnlySpan<ushort> Order => _schedule;

    private protected override int Distinct => Servers.Count;

    private protected override int StartPosition(uint keyHash, IServerView view) =>
        (int)((uint)Interlocked.Increment(ref _next) % (uint)_schedule.Length);

    /// <inheritdoc />
    public override double[] KeySpaceShares()
    {
        var shares = new double[Servers.Count];
        foreach (ushort s in _schedule)
        {
            shares[s] += 1.0 / _schedule.Length;
        }

        return shares;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}

/// <summary>
/// Least connections by the power of two random choices (Mitzenmacher): two distinct servers at
/// random, the one with fewer requests in flight per unit of weight wins. Nearly as good as
/// scanning every server, at the cost of two reads.
/// </summary>
internal sealed class LeastConnectionsRouter : Router
{
    private readonly ushort[] _identity;
    private readonly Random _random;

    private readonly double[] _weights;

    /// <summary>Creates the router; <paramref name="random"/> null means the shared thread-safe one.</summary>
    public LeastConnectionsRouter(IReadOnlyList<BackendConfig> servers, Random? random = null, IReadOnlyList<double>? shares = null)
        : base(servers, HashFunction.XxHash3)
    {
        _weights = servers.Select((s, i) => s.Weight * (shares is null ? 1.0 : Math.Clamp(shares[i], 0.001, 1.0))).ToArray();
        _identity = new ushort[servers.Count];
        for (int i = 0; i < _identity.Length; i++)
        {
            _identity[i] = (ushort)i;
        }

        _random = random ?? Random.Shared;
    }

    /// <inheritdoc />
    public override RoutingAlgorithm Algorithm => RoutingAlgorithm.LeastConnections;

    /// <inheritdoc />
    public override bool UsesKey => false;

    /// <inheritdoc />
    public override int Size => _identity.Length;

    /// <inheritdoc />
    public override long MemoryBytes => (long)_identity.Length * sizeof(ushort);

    private protected override ReadOnlySpan<ushort> Order => _identity;

    private protected override int Distinct => _identity.Length;

    private protected override int StartPosition(uint keyHash, IServerView view)
    {
        int n = _identity.Length;
        int first = _random.Next(n);
        int start = first;
        if (n > 1)
        {
            int second = _random.Next(n - 1);
            second += second >= first ? 1 : 0;
            start = Better(first, second, view);
        }

        return start;
    }

    /// <inheritdoc />
    public override double[] KeySpaceShares()
    {
        double total = _weights.Sum();
        return _weights.Select(w => w / total).ToArray();
    }

    private int Better(int a, int b, IServerView view)
    {
        bool aOk = view.IsEligible(a);
        if (aOk != view.IsEligible(b))
        {
            return aOk ? a : b;
        }

        // in-flight(a) / weight(a) <= in-flight(b) / weight(b), without division.
        double left = view.InFlight(a) * _weights[b];
        double right = view.InFlight(b) * _weights[a];
        return left <= right ? a : b;
    }
}
