using System.IO.Hashing;
using System.Text;
using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a prime-sized lookup table filled
/// by the servers in turn, each taking the next free slot of its own permutation
/// (offset + j x skip mod M). A key is one table read; shares are even to a slot, and removing
/// a server moves a little more than its own keys.
/// </summary>
internal sealed class MaglevTable : Router
{
    /// <summary>The paper keeps M at least 100 times the server count for even shares.</summary>
    public const int MinSlotsPerServer = 100;

    private readonly ushort[] _table;
    private readonly int _distinct;

    private MaglevTable(IReadOnlyList<BackendConfig> servers, HashFunction hash, ushort[] table, int distinct)
        : base(servers, hash)
    {
        _table = table;
        _distinct = distinct;
    }

    /// <inheritdoc />
    public override RoutingAlgorithm Algorithm => RoutingAlgorithm.Maglev;

    /// <inheritdoc />
    public override int Size => _table.Length;

    /// <inheritdoc />
    public override long MemoryBytes => (long)_table.Length * sizeof(ushort);

    /// <summary>The lookup table: a server index per slot.</summary>
    public ReadOnlySpan<ushort> Table => _table;

    /// <summary>
    /// The table size used for <paramref name="servers"/> servers: <paramref name="configured"/>,
    /// or the first prime above 100 x servers when that is larger.
    /// </summary>
    public static int EffectiveSize(int configured, int servers) =>
        (long)servers * MinSlotsPerServer <= configured ? configured : Primes.NextPrime(servers * MinSlotsPerServer);

    /// <summary>
    /// Builds the table. Each server's permutation comes from its id (XXH3 with two seeds), and
    /// servers take turns in id order, so the table does not depend on the order backends are
    /// listed in. Weights: a server of weight w takes a turn in w of every max-weight rounds
    /// (the approach Envoy's Maglev uses), which keeps shares proportional while the contested
    /// first slots are shared fairly.
    /// </summary>
    public static MaglevTable Build(IReadOnlyList<BackendConfig> servers, HashFunction hash, int tableSize, IReadOnlyList<double>? shares = null)
    {
        int m = EffectiveSize(tableSize, servers.Count);
        int n = servers.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => string.CompareOrdinal(servers[a].Id, servers[b].Id));

        var offset = new long[n];
        var skip = new long[n];
        var next = new long[n];
        var credit = new double[n];
        var weight = new double[n];
        double maxWeight = 0;
        for (int i = 0; i < n; i++)
        {
            byte[] id = Encoding.UTF8.GetBytes(servers[i].Id);
            offset[i] = (long)(XxHash3.HashToUInt64(id, seed: 0x6d61676c) % (ulong)m);
            skip[i] = (long)(XxHash3.HashToUInt64(id, seed: 0x736b6970) % (ulong)(m - 1)) + 1;
            weight[i] = servers[i].Weight * (shares is null ? 1.0 : Math.Clamp(shares[i], 0.001, 1.0));
            maxWeight = Math.Max(maxWeight, weight[i]);
        }

        var table = new int[m];
        Array.Fill(table, -1);
        int filled = 0;
        for (long round = 1; filled < m; round++)
        {
            for (int k = 0; k < n && filled < m; k++)
            {
                int i = order[k];
                if (weight[i] * round < credit[i])
                {
                    continue;
                }

                credit[i] += maxWeight;
                long slot;
                do
                {
                    slot = (offset[i] + (next[i] * skip[i])) % m;
                    next[i]++;
                }
                while (table[slot] >= 0);

                table[slot] = i;
                filled++;
            }
        }

        var compact = new ushort[m];
        var present = new bool[n];
        int distinct = 0;
        for (int s = 0; s < m; s++)
        {
            compact[s] = (ushort)table[s];
            if (!present[table[s]])
            {
                present[table[s]] = true;
                distinct++;
            }
        }

        return new MaglevTable(servers, hash, compact, distinct);
    }

    /// <summary>The slot of <paramref name="keyHash"/>: multiply-shift range reduction, no division.</summary>
    public int Slot(uint keyHash) => (int)(((ulong)keyHash * (ulong)_table.Length) >> 32);

    private protected override ReadOnlySpan<ushort> Order => _table;

    private protected override int Distinct => _distinct;

    private protected override int StartPosition(uint keyHash, IServerView view) => Slot(keyHash);

    /// <inheritdoc />
    public override double[] KeySpaceShares()
    {
        var shares = new double[Servers.Count];
        foreach (ushort server in _table)
        {
            shares[server]++;
        }

        for (int i = 0; i < shares.Length; i++)
        {
            shares[i] /= _table.Length;
        }

        return shares;
    }
}

/// <summary>Primality for Maglev table sizes (at most a few million: trial division is enough).</summary>
internal static class Primes
{
    /// <summary>Whether <paramref name="value"/> is prime.</summary>
    public static bool IsPrime(long value)
    {
        if (value < 2)
        {
            return false;
        }

        if (value % 2 == 0)
        {
            return value == 2;
        }

        for (long d = 3; d * d <= value; d += 2)
        {
            if (value % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The smallest prime at or above <paramref name="value"/>.</summary>
    public static int NextPrime(int value)
    {
        int candidate = Math.Max(2, value);
        while (!IsPrime(candidate))
        {
            candidate++;
        }

        return candidate;
    }
}
