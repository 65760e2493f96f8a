using System.Globalization;
using System.Text;
using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>One backend's line in a <see cref="RingReport"/>.</summary>
internal sealed record BackendShare(string Id, int Weight, int Points, double SpaceShare, double KeyShare, double? MovedIfRemoved);

/// <summary>
/// The capacity-planning view of a routing table: each backend's share of the key space and
/// of a set of synthetic keys, how uneven they are, and how many keys move when each backend
/// is removed.
/// </summary>
internal sealed record RingReport(
    string Algorithm,
    string Hash,
    int Backends,
    int Size,
    long MemoryBytes,
    int Keys,
    IReadOnlyList<BackendShare> Shares,
    double SpaceMaxOverMean,
    double KeyMaxOverMean,
    double SpaceDeviation,
    double KeyDeviation)
{
    /// <summary>Above this many backends the removal column (a rebuild per backend) is left out.</summary>
    public const int MaxBackendsForRemoval = 200;

    /// <summary>The synthetic key number <paramref name="i"/>: a path, as a URL path key would be.</summary>
    public static int WriteSyntheticKey(int i, Span<byte> destination)
    {
        "/objects/"u8.CopyTo(destination);
        i.TryFormat(destination[9..], out int written, provider: CultureInfo.InvariantCulture);
        return 9 + written;
    }

    /// <summary>Builds the report for <paramref name="routing"/> over <paramref name="backends"/> with <paramref name="keys"/> synthetic keys.</summary>
    public static RingReport Create(RoutingConfig routing, IReadOnlyList<BackendConfig> backends, int keys, bool? withRemoval = null)
    {
        var router = Router.Create(routing, backends, new Random(1));
        var view = new AllEligibleView(backends.Count);
        var owners = AssignKeys(router, view, keys);
        var keyCounts = new int[backends.Count];
        foreach (int owner in owners)
        {
            keyCounts[owner]++;
        }

        var space = router.KeySpaceShares();
        var points = new int[backends.Count];
        CountPoints(router, points);

        bool removal = (withRemoval ?? backends.Count <= MaxBackendsForRemoval) && router.UsesKey && backends.Count > 1;
        var shares = new List<BackendShare>(backends.Count);
        double totalWeight = backends.Sum(b => (double)b.Weight);
        var spaceRatio = new double[backends.Count];
        var keyRatio = new double[backends.Count];
        for (int i = 0; i < backends.Count; i++)
        {
            double expected = backends[i].Weight / totalWeight;
            double keyShare = keys == 0 ? 0 : (double)keyCounts[i] / keys;
            spaceRatio[i] = space[i] / expected;
            keyRatio[i] = keyShare / expected;
            double? moved = removal ? MovedWhenRemoved(routing, backends, i, owners) : null;
            shares.Add(new BackendShare(backends[i].Id, backends[i].Weight, points[i], space[i], keyShare, moved));
        }

        return new RingReport(
            RoutingNames.Of(routing.Algorithm), RoutingNames.Of(router.Hash), backends.Count, router.Size, router.MemoryBytes, keys, shares,
            spaceRatio.Max(), keys == 0 ? 0 : keyRatio.Max(), Deviation(spaceRatio), keys == 0 ? 0 : Deviation(keyRatio));
    }

    /// <summary>The server each synthetic key goes to with every server eligible.</summary>
    public static int[] AssignKeys(Router router, IServerView view, int keys)
    {
        var owners = new int[keys];
        Span<byte> key = stackalloc byte[32];
        for (int i = 0; i < keys; i++)
        {
            owners[i] = router.Select(key[..WriteSyntheticKey(i, key)], view);
        }

        return owners;
    }

    /// <summary>Renders the report as the aligned table the <c>ring</c> command prints.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"routing: {Algorithm}, hash {Hash}, {Backends} backends, {Size} {(Algorithm == "maglev" ? "slots" : "points")}, {MemoryBytes / 1024.0:F1} KiB");
        text.AppendLine(c, $"keys: {Keys} synthetic (/objects/0 .. /objects/{Math.Max(0, Keys - 1)})");
        text.AppendLine();
        int idWidth = Math.Max(7, Shares.Max(s => s.Id.Length));
        text.AppendLine(c, $"{"backend".PadRight(idWidth)}  weight   points     space      keys  moved if removed");
        foreach (var s in Shares)
        {
            string moved = s.MovedIfRemoved is { } m ? Percent(m) : "-";
            text.AppendLine(c, $"{s.Id.PadRight(idWidth)}  {s.Weight,6}  {s.Points,7}  {Percent(s.SpaceShare),8}  {Percent(s.KeyShare),8}  {moved,16}");
        }

        text.AppendLine();
        text.AppendLine(c, $"max/mean (weighted): space {SpaceMaxOverMean:F3}, keys {KeyMaxOverMean:F3}");
        text.AppendLine(c, $"deviation across backends: space {Percent(SpaceDeviation)}, keys {Percent(KeyDeviation)}");
        if (Shares.All(s => s.MovedIfRemoved is null) && Backends > MaxBackendsForRemoval)
        {
            text.AppendLine(c, $"(moved-if-removed is computed for at most {MaxBackendsForRemoval} backends)");
        }

        return text.ToString();
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static double MovedWhenRemoved(RoutingConfig routing, IReadOnlyList<BackendConfig> backends, int removed, int[] owners)
    {
        var rest = backends.Where((_, i) => i != removed).ToArray();
        var router = Router.Create(routing, rest);
        var view = new AllEligibleView(rest.Length);
        int moved = 0;
        Span<byte> key = stackalloc byte[32];
        for (int i = 0; i < owners.Length; i++)
        {
            int now = router.Select(key[..WriteSyntheticKey(i, key)], view);
            int before = owners[i];
            if (before == removed || (now >= removed ? now + 1 : now) != before)
            {
                moved++;
            }
        }

        return owners.Length == 0 ? 0 : (double)moved / owners.Length;
    }

    private static void CountPoints(Router router, int[] points)
    {
        ReadOnlySpan<ushort> owners = router switch
        {
            HashRing ring => ring.Owners,
            MaglevTable table => table.Table,
            _ => default,
        };
        foreach (ushort owner in owners)
        {
            points[owner]++;
        }
    }

    // Relative standard deviation of share / expected share: 0 when every backend gets exactly
    // its weight's part.
    private static double Deviation(double[] ratios)
    {
        double mean = ratios.Average();
        double variance = ratios.Sum(r => (r - mean) * (r - mean)) / ratios.Length;
        return Math.Sqrt(variance) / mean;
    }
}
