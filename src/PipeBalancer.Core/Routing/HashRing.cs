using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// Consistent hashing over virtual nodes, kept as two sorted parallel arrays: 32-bit point
/// hashes and 16-bit server indexes (6 bytes a point). A key goes to the first point at or
/// after its hash, wrapping to the start.
/// </summary>
internal class HashRing : Router
{
    private readonly uint[] _points;
    private readonly ushort[] _owners;
    private readonly int _distinct;
    private readonly RoutingAlgorithm _algorithm;

    private protected HashRing(IReadOnlyList<BackendConfig> servers, HashFunction hash, (uint[] Points, ushort[] Owners) ring, RoutingAlgorithm algorithm)
        : base(servers, hash)
    {
        _points = ring.Points;
        _owners = ring.Owners;
        _distinct = CountDistinct(ring.Owners, servers.Count);
        _algorithm = algorithm;
    }

    /// <inheritdoc />
    public override RoutingAlgorithm Algorithm => _algorithm;

    /// <inheritdoc />
    public override int Size => _points.Length;

    /// <inheritdoc />
    public override long MemoryBytes => ((long)_points.Length * sizeof(uint)) + ((long)_owners.Length * sizeof(ushort));

    /// <summary>The sorted point hashes.</summary>
    public ReadOnlySpan<uint> Points => _points;

    /// <summary>The server index of each point.</summary>
    public ReadOnlySpan<ushort> Owners => _owners;

    /// <summary>
    /// Builds a ring with <paramref name="virtualNodes"/> x weight points per server. A server's
    /// points are hashes of labels made from its id (<c>id#0</c>, <c>id#1</c>, ...), never from
    /// its address or position, so a moved server keeps its keys and every balancer with the
    /// same backends builds the same ring whatever order they are listed in.
    /// </summary>
    public static HashRing Build(IReadOnlyList<BackendConfig> servers, HashFunction hash, int virtualNodes, IReadOnlyList<double>? shares = null)
    {
        return new HashRing(servers, hash, BuildPoints(servers, hash, virtualNodes, shares), RoutingAlgorithm.Ring);
    }

    /// <summary>
    /// Builds the ring nginx's <c>hash ... consistent</c> builds for the same upstream list
    /// (ngx_http_upstream_hash_module): 160 x weight points per server, point j being CRC-32 of
    /// (host, a 0 byte, port, point j-1 as 4 little-endian bytes) with point -1 = 0, over the
    /// address text as written; sorted, duplicate hashes dropped keeping one.
    /// </summary>
    public static HashRing BuildNginx(IReadOnlyList<BackendConfig> servers, IReadOnlyList<double>? shares = null)
    {
        const int NginxPointsPerWeight = 160;
        long total = 0;
        for (int i = 0; i < servers.Count; i++)
        {
            total += PointCount(servers[i].Weight * NginxPointsPerWeight, shares, i);
        }

        // Sort key: hash in the high 32 bits, configuration position below, so that among equal
        // hashes the earlier server stays (nginx's qsort leaves that order unspecified).
        var keys = new ulong[total];
        int n = 0;
        byte[] buffer = new byte[300];
        for (int i = 0; i < servers.Count; i++)
        {
            string text = servers[i].Address.Text;
            int colon = text.LastIndexOf(':');
            int hostLength = Encoding.ASCII.GetBytes(text.AsSpan(0, colon), buffer);
            buffer[hostLength] = 0;
            int prefix = hostLength + 1 + Encoding.ASCII.GetBytes(text.AsSpan(colon + 1), buffer.AsSpan(hostLength + 1));
            uint previous = 0;
            int count = PointCount(servers[i].Weight * NginxPointsPerWeight, shares, i);
            for (int j = 0; j < count; j++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(prefix), previous);
                previous = System.IO.Hashing.Crc32.HashToUInt32(buffer.AsSpan(0, prefix + 4));
                keys[n++] = ((ulong)previous << 32) | (uint)i;
            }
        }

        return new HashRing(servers, HashFunction.Crc32, SortAndDeduplicate(keys, rankToServer: null), RoutingAlgorithm.Nginx);
    }

    /// <summary>Index of the point that owns <paramref name="keyHash"/>: the first at or above it, wrapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindPoint(uint keyHash)
    {
        int index = LowerBound(_points, keyHash);
        return index == _points.Length ? 0 : index;
    }

    private protected override ReadOnlySpan<ushort> Order => _owners;

    private protected override int Distinct => _distinct;

    private protected override int StartPosition(uint keyHash, IServerView view) => FindPoint(keyHash);

    /// <inheritdoc />
    public override double[] KeySpaceShares()
    {
        var shares = new double[Servers.Count];
        uint previous = _points[^1];
        for (int i = 0; i < _points.Length; i++)
        {
            // The arc (previous, point] belongs to the point's server; unsigned arithmetic wraps
            // the first arc around zero. A single point owns the whole circle.
            uint arc = _points[i] - previous;
            shares[_owners[i]] += _points.Length == 1 ? 4294967296.0 : arc;
            previous = _points[i];
        }

        for (int i = 0; i < shares.Length; i++)
        {
            shares[i] /= 4294967296.0;
        }

        return shares;
    }

    /// <summary>First index whose value is at or above <paramref name="value"/>; length when none is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int LowerBound(ReadOnlySpan<uint> sorted, uint value)
    {
        // Halving search with a conditional move instead of a branch: the comparison outcome is
        // random per key, and mispredicting it on every level costs more than the extra step.
        ref uint start = ref MemoryMarshal.GetReference(sorted);
        int low = 0;
        int length = sorted.Length;
        while (length > 0)
        {
            int half = length >> 1;
            int candidate = low + half;
            bool below = Unsafe.Add(ref start, candidate) < value;
            low = below ? candidate + 1 : low;
            length = below ? length - half - 1 : half;
        }

        return low;
    }

    /// <summary>A server's points now: all of them, or the first share of them (at least one).</summary>
    private static int PointCount(int full, IReadOnlyList<double>? shares, int server) =>
        shares is null || shares[server] >= 1 ? full : Math.Max(1, (int)Math.Ceiling(full * shares[server]));

    private protected static (uint[] Points, ushort[] Owners) BuildPoints(IReadOnlyList<BackendConfig> servers, HashFunction hash, int virtualNodes,
        IReadOnlyList<double>? shares)
    {
        // Ties between equal hashes are broken by id (ordinal), not by position in the list, so
        // the ring does not depend on the order backends are written in.
        var rankToServer = new int[servers.Count];
        for (int i = 0; i < rankToServer.Length; i++)
        {
            rankToServer[i] = i;
        }

        Array.Sort(rankToServer, (a, b) => string.CompareOrdinal(servers[a].Id, servers[b].Id));

        long total = 0;
        for (int i = 0; i < servers.Count; i++)
        {
            total += PointCount(servers[i].Weight * virtualNodes, shares, i);
        }

        var keys = new ulong[total];
        int n = 0;
        Span<byte> label = stackalloc byte[256];
        Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
        for (int rank = 0; rank < rankToServer.Length; rank++)
        {
            var server = servers[rankToServer[rank]];
            int idLength = Encoding.UTF8.GetBytes(server.Id, label);
            label[idLength] = (byte)'#';
            var digits = label[(idLength + 1)..];
            int count = PointCount(server.Weight * virtualNodes, shares, rankToServer[rank]);
            if (hash == HashFunction.Md5)
            {
                // ketama's layout: one MD5 digest of "id#k" gives four points.
                for (int k = 0; k * 4 < count; k++)
                {
                    k.TryFormat(digits, out int written, provider: CultureInfo.InvariantCulture);
#pragma warning disable CA5351 // MD5 places points (as ketama does); it protects nothing.
                    MD5.HashData(label[..(idLength + 1 + written)], digest);
#pragma warning restore CA5351
                    for (int p = 0; p < 4 && (k * 4) + p < count; p++)
                    {
                        uint point = BinaryPrimitives.ReadUInt32LittleEndian(digest[(p * 4)..]);
                        keys[n++] = ((ulong)point << 32) | (uint)rank;
                    }
                }
            }
            else
            {
                for (int k = 0; k < count; k++)
                {
                    k.TryFormat(digits, out int written, provider: CultureInfo.InvariantCulture);
                    uint point = KeyHash.Hash(hash, label[..(idLength + 1 + written)]);
                    keys[n++] = ((ulong)point << 32) | (uint)rank;
                }
            }
        }

        return SortAndDeduplicate(keys, rankToServer);
    }

    private static (uint[] Points, ushort[] Owners) SortAndDeduplicate(ulong[] keys, int[]? rankToServer)
    {
        Array.Sort(keys);
        var points = new uint[keys.Length];
        var owners = new ushort[keys.Length];
        int count = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            uint point = (uint)(keys[i] >> 32);
            if (count > 0 && points[count - 1] == point)
            {
                continue;
            }

            int tag = (int)(uint)keys[i];
            points[count] = point;
            owners[count] = (ushort)(rankToServer is null ? tag : rankToServer[tag]);
            count++;
        }

        return count == keys.Length ? (points, owners) : (points[..count], owners[..count]);
    }

    private static int CountDistinct(ReadOnlySpan<ushort> owners, int servers)
    {
        var present = new bool[servers];
        int distinct = 0;
        foreach (ushort owner in owners)
        {
            if (!present[owner])
            {
                present[owner] = true;
                distinct++;
            }
        }

        return distinct;
    }
}

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018): a server
/// whose in-flight count has reached ceil(c x (in flight + 1) / eligible servers) is passed
/// over clockwise, so a hot key spills to its neighbours instead of drowning its owner.
/// </summary>
internal sealed class BoundedLoadRing : HashRing
{
    private BoundedLoadRing(IReadOnlyList<BackendConfig> servers, HashFunction hash, int virtualNodes, double loadFactor, IReadOnlyList<double>? shares)
        : base(servers, hash, BuildPoints(servers, hash, virtualNodes, shares), RoutingAlgorithm.RingBounded)
    {
        LoadFactor = loadFactor;
    }

    /// <summary>c: how far above the average a server's in-flight count may go.</summary>
    public double LoadFactor { get; }

    /// <summary>Builds the same ring as <see cref="HashRing.Build"/>, with the load cap.</summary>
    public static BoundedLoadRing Build(IReadOnlyList<BackendConfig> servers, HashFunction hash, int virtualNodes, double loadFactor, IReadOnlyList<double>? shares = null) =>
        new(servers, hash, virtualNodes, loadFactor, shares);

    /// <summary>The in-flight count at which a server is skipped, counting the request being placed.</summary>
    public long Cap(IServerView view)
    {
        int eligible = Math.Max(1, view.EligibleCount);
        return (long)Math.Ceiling(LoadFactor * (view.TotalInFlight + 1) / eligible);
    }

    /// <inheritdoc />
    public override bool Accepts(int server, IServerView view) =>
        view.IsEligible(server) && view.InFlight(server) < Cap(view);
}
