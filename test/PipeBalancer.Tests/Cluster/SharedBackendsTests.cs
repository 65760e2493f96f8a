using System.Text;
using PipeBalancer.Cluster;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Cluster;

/// <summary>The value of the shared backends key: written as lb.json's entries, read back against the local sections, refused whole when invalid.</summary>
public sealed class SharedBackendsTests
{
    private static BalancerConfig Local() => ConfigLoader.Parse("""
        {
          "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ],
          "routing": { "algorithm": "maglev" },
          "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ],
          "health": { "path": "/status" }
        }
        """).Config!;

    [Test]
    public void Backends_WrittenAndReadBack_AreEqual_AndTheLocalSectionsStay()
    {
        var local = Local();
        var shared = local with
        {
            Backends =
            [
                new BackendConfig("a", new HostPort("127.0.0.1", 9001) { Text = "127.0.0.1:9001" }, 3) { Drain = true },
                new BackendConfig("b", new HostPort("10.0.0.2", 80) { Text = "10.0.0.2:80" }),
            ],
        };

        var result = SharedBackends.Read(local, SharedBackends.Write(shared.Backends));
        Assert.That(result.Errors, Is.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(result.Config!.Backends, Is.EqualTo(shared.Backends));
            Assert.That(result.Config.Routing, Is.EqualTo(local.Routing));
            Assert.That(result.Config.Health, Is.EqualTo(local.Health));
        });
    }

    [TestCase("""{ "backends": [ { "id": "a", "address": "127.0.0.1:9001", "weight": 0 } ] }""", "backends[0].weight")]
    [TestCase("""{ "backends": [ { "id": "a", "address": "nope" } ] }""", "backends[0].address")]
    [TestCase("""{ "servers": [] }""", "$")]
    [TestCase("""not json""", "$")]
    public void InvalidValue_IsRefusedWhole_WithThePath(string value, string path)
    {
        var result = SharedBackends.Read(Local(), Encoding.UTF8.GetBytes(value));
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path));
    }
}
