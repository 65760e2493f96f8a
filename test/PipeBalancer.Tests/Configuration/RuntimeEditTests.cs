using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>The admin API's edits are checked by the same rules as lb.json, with paths from the request body's root.</summary>
public sealed class RuntimeEditTests
{
    private static readonly BalancerConfig Current = ConfigLoader.Parse("""
        {
          "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ],
          "health": { "path": "/health", "intervalMs": 2000 },
          "backends": [ { "id": "s1", "address": "127.0.0.1:8001" }, { "id": "s2", "address": "127.0.0.1:8002", "weight": 2 } ]
        }
        """).Config!;

    [Test]
    public void AddBackend_Valid_AppendsItWithItsHealthOverrideOverTheSection()
    {
        var result = ConfigLoader.AddBackend(Current, """{ "id": "s3", "address": "127.0.0.1:8003", "weight": 3, "health": { "path": "/ready" } }""");
        Assert.That(result.Errors, Is.Empty);
        var added = result.Config!.Backends[^1];
        Assert.Multiple(() =>
        {
            Assert.That(result.Config.Backends.Select(b => b.Id), Is.EqualTo(new[] { "s1", "s2", "s3" }));
            Assert.That(added.Weight, Is.EqualTo(3));
            Assert.That(added.Health!.Path, Is.EqualTo("/ready"));
            Assert.That(added.Health.IntervalMs, Is.EqualTo(2000), "unset fields come from the health section");
            Assert.That(Current.Backends, Has.Count.EqualTo(2), "the config in force is not changed");
        });
    }

    [TestCase("""{ "id": "s1", "address": "127.0.0.1:8009" }""", "$.id", "duplicate id 's1' (also backends[0])")]
    [TestCase("""{ "id": "s9", "address": "127.0.0.1:8002" }""", "$.address", "duplicate address '127.0.0.1:8002' (also backends[1])")]
    [TestCase("""{ "id": "s9", "address": "127.0.0.1:0" }""", "$.address", "port must be 1..65535")]
    [TestCase("""{ "id": "s9" }""", "$.address", "is required")]
    [TestCase("""{ "id": "bad id", "address": "127.0.0.1:8009" }""", "$.id", "must be 1..64 characters")]
    [TestCase("""{ "id": "s9", "address": "127.0.0.1:8009", "wieght": 2 }""", "$.wieght", "did you mean 'weight'?")]
    [TestCase("""{ "id": "s9", "address": "127.0.0.1:8009", "weight": 0 }""", "$.weight", "")]
    [TestCase("""{ "id": "s9", "address": "127.0.0.1:8009", "health": { "rise": 0 } }""", "$.health.rise", "")]
    [TestCase("""[ 1 ]""", "$", "must be an object")]
    [TestCase("""{ "id": "s9", """, "$", "not valid JSON at line 1")]
    public void AddBackend_Invalid_NamesThePathAndTheReason(string body, string path, string reason)
    {
        var result = ConfigLoader.AddBackend(Current, body);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path));
        Assert.That(result.Errors.First(e => e.Path == path).Reason, Does.Contain(reason));
    }

    [Test]
    public void AddBackend_ReportsEveryErrorAtOnce()
    {
        var result = ConfigLoader.AddBackend(Current, """{ "id": "s1", "address": "nohost", "weight": -1, "extra": true }""");
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[] { "$.id", "$.address", "$.weight", "$.extra" }));
    }

    [Test]
    public void AddBackend_BeyondTheRingSizeLimit_IsRefused()
    {
        var big = Current with { Routing = Current.Routing with { VirtualNodes = 1_000_000 } };
        var result = ConfigLoader.AddBackend(big, """{ "id": "s3", "address": "127.0.0.1:8003", "weight": 2 }""");
        Assert.That(result.Errors.Single().Path, Is.EqualTo("routing.virtualNodes"));
    }

    [Test]
    public void SetWeight_ChangesOnlyThatBackend()
    {
        var result = ConfigLoader.SetWeight(Current, "s1", """{ "weight": 5 }""");
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.Config!.Backends.Select(b => b.Weight), Is.EqualTo(new[] { 5, 2 }));
    }

    [TestCase("""{ "weight": 0 }""", "$.weight")]
    [TestCase("""{ "weight": 1001 }""", "$.weight")]
    [TestCase("""{ "weight": "2" }""", "$.weight")]
    [TestCase("""{ }""", "$.weight")]
    [TestCase("""{ "weight": 2, "drain": true }""", "$.drain")]
    public void SetWeight_Invalid_NamesThePath(string body, string path)
    {
        var result = ConfigLoader.SetWeight(Current, "s1", body);
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path));
    }
}
