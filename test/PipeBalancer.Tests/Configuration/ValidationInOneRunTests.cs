using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>Every error of a file comes in one run, whichever sections (and overrides of them) hold them.</summary>
public sealed class ValidationInOneRunTests
{
    private const string Listeners = """ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] """;

    [Test]
    public void SectionAndBackendOverrideErrors_ComeTogether()
    {
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "health": { "fall": 0 },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "health": { "path": "health", "rise": 0 } } ] }
            """);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "health.fall: must be 1..100, got 0",
            "backends[0].health.path: must be an origin-form path starting with '/', without spaces or control characters, got \"health\"",
            "backends[0].health.rise: must be 1..100, got 0",
        }));
    }

    [Test]
    public void Errors_AreListedBySectionInTheReferencesOrder_ThenByEntry()
    {
        var result = ConfigLoader.Parse("""
            { "retries": { "max": 11 },
              "backends": [ { "id": "a", "address": "127.0.0.1:8001", "weight": 0 }, { "id": "b", "address": "127.0.0.1:8002" },
                            { "id": "c", "address": "127.0.0.1:8003", "weight": 0, "drain": 1 } ],
              "listeners": [ { "name": "bad name", "address": "127.0.0.1:8080" } ], "routing": { "hash": "sha1" } }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EqualTo(new[]
        {
            "listeners[0].name", "routing.hash", "backends[0].weight", "backends[2].drain", "backends[2].weight", "retries.max",
        }));
    }

    [Test]
    public void AnOverride_IsNotBlamedForWhatItTookFromTheSection()
    {
        // The override inherits fall 0 from the section: said once, where it was written.
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "health": { "fall": 0, "path": "x" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "health": { "rise": 3 } } ] }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[] { "health.fall", "health.path" }));
    }

    [Test]
    public void ErrorsInEverySection_ComeTogether()
    {
        var result = ConfigLoader.Parse("""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:9090", "tls": { "certificate": "/no/such.crt", "key": "/no/such.key" } } ],
              "admin": { "address": "0.0.0.0:9091", "rateLimitPerSecond": -1 },
              "routing": { "algorithm": "maglev", "tableSize": 65536 },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" }, { "id": "s1", "address": "127.0.0.1:8001" } ],
              "limits": { "maxHeaderCount": 0 },
              "timeouts": { "connectMs": "5s" },
              "forwardedHeaders": { "for": "yes" },
              "pool": { "maxIdlePerBackend": -1 },
              "health": { "method": "POST" },
              "circuit": { "cooldownMs": 1 },
              "retries": { "max": 11 } }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[]
        {
            "listeners[0].tls.certificate", "listeners[0].tls.key", "admin.token", "admin.rateLimitPerSecond", "routing.tableSize",
            "backends[1].id", "backends[1].address", "limits.maxHeaderCount", "timeouts.connectMs", "forwardedHeaders.for",
            "pool.maxIdlePerBackend", "health.method", "circuit.cooldownMs", "retries.max",
        }), string.Join(Environment.NewLine, result.Errors));
    }

    [Test]
    public void ListenerOnTheAdminAddress_AndOtherSections_ComeTogether()
    {
        var result = ConfigLoader.Parse("""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:9090" }, { "name": "web", "address": "127.0.0.1:9090" } ],
              "routing": { "algorithm": "nginx", "hash": "md5", "virtualNodes": 0 },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[]
        {
            "listeners[0].address", "listeners[1].name", "listeners[1].address", "listeners[1].address",
            "routing.hash", "routing.virtualNodes", "routing.virtualNodes",
        }), string.Join(Environment.NewLine, result.Errors));
    }

    [Test]
    public void AnEntryWithAnUnreadableAddress_StillHasItsOtherValuesChecked()
    {
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "backends": [ { "id": "bad id", "address": "nohost", "weight": 0, "health": { "rise": 0 } },
                                          { "address": 80 } ] }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[]
        {
            "backends[0].id", "backends[0].address", "backends[0].weight", "backends[0].health.rise", "backends[1].id", "backends[1].address",
        }), string.Join(Environment.NewLine, result.Errors));
    }

    [Test]
    public void EntriesThatAreNotObjects_KeepTheOthersPaths()
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, "backends": [ 1, { "id": "s1", "address": "127.0.0.1:8001", "weight": 0 } ] }""");
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "backends[0]: must be an object, got number 1", "backends[1].weight: must be 1..1000, got 0",
        }));
    }

    [Test]
    public void NumbersBeyondTheModel_AreErrorsNotExceptions()
    {
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 10000000000 } ],
              "health": { "jitter": 1e400 } }
            """);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "backends[0].weight: must be 1..1000, got 10000000000",
            "health.jitter: must be a number 0 and at most 0.5, got number 1e400",
        }));
    }

    [TestCase("ops.internal:9090", "ops.internal")]
    [TestCase("admin-1:0", "admin-1")]
    public void AdminAddress_AHostName_IsRefusedWithThePath(string address, string host)
    {
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "admin": { "address": "{{address}}" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EqualTo(new[]
        {
            $"admin.address: must be an IP address, '*' or localhost, got the host name '{host}' (the admin app does not resolve names; write the address it should bind)",
        }));
    }

    [TestCase("localhost:9090")]
    [TestCase("LOCALHOST:9090")]
    [TestCase("127.0.0.2:9090")]
    public void AdminAddress_LocalhostOrAnIP_IsAccepted(string address)
    {
        var result = ConfigLoader.Parse($$"""
            { {{Listeners}}, "admin": { "address": "{{address}}" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);
        Assert.That(result.Errors, Is.Empty);
    }

    [Test]
    public void AdminAdd_ReportsTheEntryAndItsOverrideTogether()
    {
        var current = ConfigLoader.Parse($$"""{ {{Listeners}}, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""").Config!;
        var result = ConfigLoader.AddBackend(current, """{ "id": "s1", "address": "127.0.0.1:0", "health": { "path": "x", "fall": 0, "jitter": "a" } }""");
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[] { "$.id", "$.address", "$.health.path", "$.health.fall", "$.health.jitter" }));
    }
}
