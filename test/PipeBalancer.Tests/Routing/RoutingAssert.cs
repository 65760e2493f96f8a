using System.Globalization;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

/// <summary>Shared measurements for routing tests: where keys go, and how many move.</summary>
internal static class RoutingAssert
{
    public static byte[] Key(int i) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/objects/{i}"));

    public static RoutingConfig Routing(RoutingAlgorithm algorithm, HashFunction hash = HashFunction.XxHash3, int virtualNodes = 160) =>
        RoutingConfig.Default with { Algorithm = algorithm, Hash = algorithm == RoutingAlgorithm.Nginx ? HashFunction.Crc32 : hash, VirtualNodes = virtualNodes };

    /// <summary>Server ids per key, for comparing two tables whose server lists differ.</summary>
    public static string[] Owners(Router router, int keys)
    {
        var owners = RingReport.AssignKeys(router, new AllEligibleView(router.Servers.Count), keys);
        return owners.Select(o => router.Servers[o].Id).ToArray();
    }

    /// <summary>Per server, its keys divided by the keys its weight entitles it to.</summary>
    public static double[] LoadRatios(Router router, int keys)
    {
        var counts = new int[router.Servers.Count];
        foreach (int owner in RingReport.AssignKeys(router, new AllEligibleView(router.Servers.Count), keys))
        {
            counts[owner]++;
        }

        double totalWeight = router.Servers.Sum(s => (double)s.Weight);
        return counts.Select((c, i) => c / (keys * router.Servers[i].Weight / totalWeight)).ToArray();
    }
}
