using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

/// <summary>
/// Checks the nginx algorithm against choices a real nginx 1.22 made for the same upstreams
/// (Vectors/nginx-chash.tsv, captured by test/tools/capture-nginx-vectors.sh from nginx's own
/// $upstream_addr with <c>hash $request_uri consistent</c>).
/// </summary>
public sealed class NginxCompatibilityTests
{
    private static readonly string VectorsPath = Path.Combine(TestContext.CurrentContext.TestDirectory, "Routing", "Vectors", "nginx-chash.tsv");

    [TestCase("three", 2000)]
    [TestCase("ten", 2000)]
    public void Select_MatchesRealNginxForEveryCapturedKey(string set, int expectedVectors)
    {
        var (upstreams, vectors) = ReadVectors();
        var servers = upstreams[set];
        var router = Router.Create(RoutingConfig.Default with { Algorithm = RoutingAlgorithm.Nginx, Hash = HashFunction.Crc32 }, servers);
        var view = new AllEligibleView(servers.Count);
        var mismatches = new List<string>();
        int checkedCount = 0;
        foreach (var (vectorSet, uri, chosen) in vectors)
        {
            if (vectorSet != set)
            {
                continue;
            }

            checkedCount++;
            int server = router.Select(Encoding.UTF8.GetBytes(uri), view);
            if (servers[server].Address.Text != chosen)
            {
                mismatches.Add($"{uri}: nginx {chosen}, ours {servers[server].Address.Text}");
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(checkedCount, Is.EqualTo(expectedVectors));
            Assert.That(mismatches, Is.Empty);
        });
    }

    [Test]
    public void NginxRing_HasOneHundredSixtyPointsPerWeightUnit()
    {
        var (upstreams, _) = ReadVectors();
        var ring = HashRing.BuildNginx(upstreams["three"]);
        Assert.That(ring.Size, Is.EqualTo(160 * 4));
    }

    private static (Dictionary<string, List<BackendConfig>> Upstreams, List<(string Set, string Uri, string Chosen)> Vectors) ReadVectors()
    {
        var upstreams = new Dictionary<string, List<BackendConfig>>();
        var vectors = new List<(string, string, string)>();
        foreach (string line in File.ReadLines(VectorsPath))
        {
            string[] fields = line.Split('\t');
            if (line.StartsWith('#'))
            {
                // "#<TAB>upstream<TAB>set<TAB>server<TAB>weight"
                if (fields.Length == 5 && fields[1] == "upstream")
                {
                    var list = upstreams.TryGetValue(fields[2], out var l) ? l : upstreams[fields[2]] = [];
                    list.Add(TestBackends.WithAddress("n" + list.Count, fields[3], int.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture)));
                }

                continue;
            }

            if (fields.Length == 3)
            {
                vectors.Add((fields[0], fields[1], fields[2]));
            }
        }

        return (upstreams, vectors);
    }
}
