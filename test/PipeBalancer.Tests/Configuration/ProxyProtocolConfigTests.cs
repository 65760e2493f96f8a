using PipeBalancer.Configuration;
using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Tests.Configuration;

public sealed class ProxyProtocolConfigTests
{
    private const string Backends = """ "backends": [ { "id": "a", "address": "127.0.0.1:1" }, { "id": "b", "address": "127.0.0.1:2", "proxyProtocol": "off" } ] """;

    [Test]
    public void ListenerAndSending_AreRead()
    {
        var result = ConfigLoader.Parse($$"""
            { "listeners": [ { "name": "t", "address": "127.0.0.1:0", "mode": "tcp",
                               "proxyProtocol": { "trustedNetworks": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"], "accept": "v2" } } ],
              "proxyProtocol": { "send": "v1" }, {{Backends}} }
            """);
        Assert.That(result.Errors, Is.Empty);
        var config = result.Config!;
        Assert.Multiple(() =>
        {
            Assert.That(config.Listeners[0].ProxyProtocol!.Accept, Is.EqualTo(ProxyVersions.V2));
            Assert.That(config.Listeners[0].ProxyProtocol!.TrustedNetworks, Has.Count.EqualTo(3));
            Assert.That(config.Backends[0].SendsProxy(config.ProxyProtocol), Is.EqualTo(ProxySend.V1));
            Assert.That(config.Backends[1].SendsProxy(config.ProxyProtocol), Is.EqualTo(ProxySend.Off));
        });
    }

    [TestCase("""["10.0.0.1/8"]""", "listeners[0].proxyProtocol.trustedNetworks[0]", "must be a network in CIDR notation")]
    [TestCase("""["10.0.0.0/8", "nope"]""", "listeners[0].proxyProtocol.trustedNetworks[1]", "got \"nope\"")]
    [TestCase("""["10.0.0.0/33"]""", "listeners[0].proxyProtocol.trustedNetworks[0]", "CIDR")]
    [TestCase("""[]""", "listeners[0].proxyProtocol.trustedNetworks", "at least one network")]
    public void BadTrustedNetworks_AreErrorsWithTheirPath(string networks, string path, string reason)
    {
        var result = ConfigLoader.Parse($$"""
            { "listeners": [ { "name": "w", "address": "127.0.0.1:0", "proxyProtocol": { "trustedNetworks": {{networks}} } } ], {{Backends}} }
            """);
        Assert.That(result.Errors.Where(e => e.Path == path).Select(e => e.Reason), Has.Some.Contains(reason), string.Join("; ", result.Errors));
    }

    [Test]
    public void MissingTrustedNetworks_IsRequired()
    {
        var result = ConfigLoader.Parse($$"""{ "listeners": [ { "name": "w", "address": "127.0.0.1:0", "proxyProtocol": { "accept": "v1" } } ], {{Backends}} }""");
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain("listeners[0].proxyProtocol.trustedNetworks"));
    }

    [TestCase(""" "proxyProtocol": { "send": "v2" } """, "proxyProtocol.send")]
    [TestCase(""" "proxyProtocol": { "send": "off" }, "backends": [ { "id": "a", "address": "127.0.0.1:1", "proxyProtocol": "v1" } ] """, "backends[0].proxyProtocol")]
    public void SendingOnPooledHttpConnections_IsRefusedWithItsPathAndReason(string json, string path)
    {
        string backends = json.Contains("backends", StringComparison.Ordinal) ? "" : ", " + Backends;
        var result = ConfigLoader.Parse($$"""{ "listeners": [ { "name": "w", "address": "127.0.0.1:0" } ], {{json}}{{backends}} }""");
        Assert.That(result.Errors.Where(e => e.Path == path).Select(e => e.Reason),
            Has.Some.Contains("http listeners pool backend connections for other clients").And.Some.Contains("pool.maxIdlePerBackend to 0"), string.Join("; ", result.Errors));
    }

    [TestCase(""" "listeners": [ { "name": "w", "address": "127.0.0.1:0" } ], "pool": { "maxIdlePerBackend": 0 } """)]
    [TestCase(""" "listeners": [ { "name": "t", "address": "127.0.0.1:0", "mode": "tcp" } ] """)]
    public void SendingWithoutSharedConnections_IsValid(string listeners)
    {
        var result = ConfigLoader.Parse($$"""{ {{listeners}}, "proxyProtocol": { "send": "v2" }, {{Backends}} }""");
        Assert.That(result.Errors, Is.Empty);
    }

    [Test]
    public void AdminAddOfASendingBackend_OnPooledHttp_IsRefused()
    {
        var current = ConfigLoader.Parse($$"""{ "listeners": [ { "name": "w", "address": "127.0.0.1:0" } ], {{Backends}} }""").Config!;
        var result = ConfigLoader.AddBackend(current, """{ "id": "c", "address": "127.0.0.1:3", "proxyProtocol": "v2" }""");
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain("$.proxyProtocol"));
    }

    [Test]
    public void ListenerRead_Twice_IsEqual_SoAReloadKeepsIt()
    {
        const string Json = $$"""{ "listeners": [ { "name": "w", "address": "127.0.0.1:0", "proxyProtocol": { "trustedNetworks": ["10.0.0.0/8"] } } ], {{Backends}} }""";
        var first = ConfigLoader.Parse(Json).Config!.Listeners[0];
        var second = ConfigLoader.Parse(Json).Config!.Listeners[0];
        var changed = ConfigLoader.Parse(Json.Replace("10.0.0.0/8", "10.0.0.0/16", StringComparison.Ordinal)).Config!.Listeners[0];
        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(first));
            Assert.That(changed, Is.Not.EqualTo(first));
        });
    }
}
