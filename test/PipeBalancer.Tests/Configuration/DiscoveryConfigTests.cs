using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

public sealed class DiscoveryConfigTests
{
    private static ConfigResult Parse(string discovery, string backends = "") =>
        ConfigLoader.Parse($$"""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], {{backends}}
              "discovery": {{discovery}} }
            """);

    [Test]
    public void ASrvGroup_WithoutBackends_IsAValidConfiguration()
    {
        var result = Parse("""[ { "group": "web", "srv": "_http._tcp.web.default.svc.cluster.local", "resolver": "127.0.0.1:5353", "minRefreshMs": 1000 } ]""");
        Assert.Multiple(() =>
        {
            Assert.That(result.Errors, Is.Empty);
            Assert.That(result.Config!.Backends, Is.Empty);
            Assert.That(result.Config.Discovery.Single().Srv, Is.EqualTo("_http._tcp.web.default.svc.cluster.local"));
            Assert.That(result.Config.Discovery.Single().Resolver, Is.EqualTo(new HostPort("127.0.0.1", 5353)));
        });
    }

    [Test]
    public void WithoutDiscovery_BackendsAreStillRequired_AndNotEmpty()
    {
        var missing = ConfigLoader.Parse("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] }""");
        var empty = ConfigLoader.Parse("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [] }""");
        Assert.Multiple(() =>
        {
            Assert.That(missing.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "backends: is required" }));
            Assert.That(empty.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "backends: needs at least one entry" }));
        });
    }

    [Test]
    public void EveryMistake_IsReported_WithItsPath()
    {
        var result = Parse("""
            [ { "group": "web", "srv": "_http._tcp.web", "port": 80, "weight": 3 },
              { "group": "web", "name": "api.test" },
              { "group": "both", "srv": "_x._tcp.a", "name": "a.test" },
              { "group": "neither" },
              { "group": "bad", "name": "not a name", "port": 80, "resolver": "dns.test:53", "minRefreshMs": 9000, "maxRefreshMs": 8000 },
              { "group": "ip", "name": "10.0.0.1", "port": 80, "timeoutMs": 5 } ]
            """, """ "backends": [ { "id": "s", "address": "127.0.0.1:9000" } ], """);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EqualTo(new[]
        {
            "discovery[0].port: comes from each SRV record; leave it out with \"srv\"",
            "discovery[0].weight: comes from each SRV record; leave it out with \"srv\"",
            "discovery[1].group: duplicate group 'web' (also discovery[0])",
            "discovery[1].port: is required with \"name\": the port every address found serves on, 1..65535",
            "discovery[2].name: give either \"srv\" or \"name\", not both",
            "discovery[3]: needs \"srv\" (SRV records give ports and weights) or \"name\" with \"port\" (A and AAAA records)",
            "discovery[4].name: must be a DNS name (labels of letters, digits, '-' or '_', 253 characters at most), got \"not a name\"",
            "discovery[4].resolver: must be an IP address and port (a resolver cannot be found by name), got \"dns.test:53\"",
            "discovery[4].maxRefreshMs: must be at least minRefreshMs (9000), got 8000",
            "discovery[5].timeoutMs: must be 10..60000, got 5",
            "discovery[5].name: must be a DNS name to look up, not an address, got \"10.0.0.1\"",
        }));
    }

    [TestCase("""[ { "group": "web", "name": "web.test", "port": 8080 } ]""")]
    [TestCase("""[ { "group": "web", "srv": "_http._tcp.web.test", "resolver": "127.0.0.1:5353" } ]""")]
    public void TheConfigurationInForce_PrintsTheGroup_NotTheBackendsItFound_AndReadsBack(string discovery)
    {
        var config = Parse(discovery).Config!;
        var found = new BackendConfig("10.0.0.5-8080", new HostPort("10.0.0.5", 8080)) { Group = "web" };
        string json = ConfigWriter.ToJson(config with { Backends = [found] }, redactSecrets: true);
        var reread = ConfigLoader.Parse(json);
        Assert.Multiple(() =>
        {
            Assert.That(json, Does.Not.Contain("10.0.0.5"));
            Assert.That(reread.Errors, Is.Empty);
            Assert.That(reread.Config!.Discovery, Is.EqualTo(config.Discovery));
        });
    }
}
