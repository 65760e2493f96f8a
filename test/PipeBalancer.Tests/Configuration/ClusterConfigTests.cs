using System.Text.Json;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>The <c>cluster</c> section: read, defaulted, judged like every other section, and printed with its password redacted.</summary>
public sealed class ClusterConfigTests
{
    private const string Listeners = """ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] """;
    private const string Backends = """ "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] """;

    private static ConfigResult Parse(string cluster) => ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "cluster": {{cluster}} }""");

    [Test]
    public void Cluster_IsAbsentByDefault()
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}} }""");
        Assert.That(result.Config!.Cluster, Is.Null);
    }

    [Test]
    public void Cluster_IsRead_WithDefaultsForWhatItDoesNotSay()
    {
        var result = Parse("""{ "endpoints": [ "http://10.0.0.5:2379", "http://10.0.0.6:2379" ] }""");
        Assert.That(result.Errors, Is.Empty);
        var cluster = result.Config!.Cluster!;
        Assert.Multiple(() =>
        {
            Assert.That(cluster.Endpoints, Is.EqualTo(new[] { "http://10.0.0.5:2379", "http://10.0.0.6:2379" }));
            Assert.That(cluster.Prefix, Is.EqualTo("/pipebalancer/"));
            Assert.That(cluster.Name, Is.Null);
            Assert.That(cluster.LeaseTtlSeconds, Is.EqualTo(10));
            Assert.That(cluster.RequestTimeoutMs, Is.EqualTo(2000));
        });
    }

    [TestCase("""{ }""", "cluster.endpoints", "is required")]
    [TestCase("""{ "endpoints": [] }""", "cluster.endpoints", "must name at least one etcd client URL")]
    [TestCase("""{ "endpoints": [ "10.0.0.5:2379" ] }""", "cluster.endpoints[0]", "must be an etcd client URL")]
    [TestCase("""{ "endpoints": [ "http://10.0.0.5:2379/v3" ] }""", "cluster.endpoints[0]", "no path")]
    [TestCase("""{ "endpoints": [ "ftp://10.0.0.5:2379" ] }""", "cluster.endpoints[0]", "must be an etcd client URL")]
    [TestCase("""{ "endpoints": [ "http://a:2379", "https://b:2379" ] }""", "cluster.endpoints[1]", "mixes https:// with http://")]
    [TestCase("""{ "endpoints": [ "http://a:2379", "http://A:2379" ] }""", "cluster.endpoints[1]", "duplicate endpoint 'http://A:2379' (also cluster.endpoints[0])")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "prefix": "pipebalancer" }""", "cluster.prefix", "must start with '/'")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "prefix": "/a b/" }""", "cluster.prefix", "without whitespace")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "name": "lb 1" }""", "cluster.name", "must be 1..64 characters")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "username": "lb" }""", "cluster.password", "is required when cluster.username is given")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "password": "secret" }""", "cluster.username", "is required when cluster.password is given")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "tls": { } }""", "cluster.tls", "TLS needs https:// endpoints")]
    [TestCase("""{ "endpoints": [ "https://a:2379" ], "tls": { "caCertificate": "/nonexistent/ca.pem" } }""", "cluster.tls.caCertificate", "no such file: /nonexistent/ca.pem")]
    [TestCase("""{ "endpoints": [ "https://a:2379" ], "tls": { "certificate": "/etc/hostname" } }""", "cluster.tls.key", "needs both cluster.tls.certificate and cluster.tls.key")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "leaseTtlSeconds": 1 }""", "cluster.leaseTtlSeconds", "must be 2..600, got 1")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "requestTimeoutMs": 50 }""", "cluster.requestTimeoutMs", "must be 100..60000, got 50")]
    [TestCase("""{ "endpoints": [ "http://a:2379" ], "endpiont": 1 }""", "cluster.endpiont", "unknown property")]
    [TestCase("""[ "http://a:2379" ]""", "cluster", "must be an object")]
    public void Cluster_Invalid_NamesThePathAndTheReason(string cluster, string path, string reason)
    {
        var result = Parse(cluster);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path), string.Join("; ", result.Errors));
        Assert.That(result.Errors.First(e => e.Path == path).Reason, Does.Contain(reason));
    }

    [Test]
    public void Password_IsRedactedWhenPrinted_AndKeptOtherwise()
    {
        var config = Parse("""{ "endpoints": [ "http://a:2379" ], "username": "lb", "password": "s3cret-pass" }""").Config!;
        using var redacted = JsonDocument.Parse(ConfigWriter.ToJson(config, redactSecrets: true));
        using var plain = JsonDocument.Parse(ConfigWriter.ToJson(config, redactSecrets: false));
        Assert.Multiple(() =>
        {
            Assert.That(redacted.RootElement.GetProperty("cluster").GetProperty("password").GetString(), Is.EqualTo("(redacted)"));
            Assert.That(redacted.RootElement.GetProperty("cluster").GetProperty("username").GetString(), Is.EqualTo("lb"));
            Assert.That(plain.RootElement.GetProperty("cluster").GetProperty("password").GetString(), Is.EqualTo("s3cret-pass"));
        });
    }

    [Test]
    public void Cluster_WrittenAndReadBack_IsEqual()
    {
        var config = Parse("""{ "endpoints": [ "http://a:2379", "http://b:2379" ], "prefix": "/shop/", "name": "lb-1", "leaseTtlSeconds": 30 }""").Config!;
        var reread = ConfigLoader.Parse(ConfigWriter.ToJson(config, redactSecrets: false)).Config!;
        Assert.Multiple(() =>
        {
            Assert.That(reread.Cluster!.Endpoints, Is.EqualTo(config.Cluster!.Endpoints));
            Assert.That(reread.Cluster with { Endpoints = config.Cluster.Endpoints }, Is.EqualTo(config.Cluster));
        });
    }
}
