using System.Text.Json;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>The configuration in force written as lb.json: every default filled in, secrets redacted on request, and read back equal.</summary>
public sealed class ConfigWriterTests
{
    private const string Token = "q7Xv0mC2Lr9pW4sT8bYk1nHd";

    [Test]
    public void Written_ThenRead_GivesAnEqualConfiguration()
    {
        string dir = Directory.CreateTempSubdirectory("pb-writer-").FullName;
        string certificate = Path.Combine(dir, "c.pem");
        string key = Path.Combine(dir, "k.pem");
        File.WriteAllText(certificate, "x");
        File.WriteAllText(key, "x");
        try
        {
            RoundTrip(certificate, key);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RoundTrip(string certificate, string key)
    {
        var original = Load($$"""
            { "listeners": [ { "name": "web", "address": "*:8443", "tls": { "certificate": "{{certificate}}", "key": "{{key}}" } },
                             { "name": "raw", "address": "[::1]:9000", "mode": "tcp" } ],
              "admin": { "address": "127.0.0.1:0", "token": "{{Token}}", "corsOrigins": [ "https://ops.example.com" ], "allowedHosts": [ "lb-1.internal" ], "rateLimitPerSecond": 7 },
              "routing": { "algorithm": "ring-bounded", "hash": "md5", "virtualNodes": 40, "key": "cookie:sid", "loadFactor": 1.75 },
              "backends": [ { "id": "a", "address": "backend-1.internal:8080", "weight": 3, "drain": true, "health": { "path": "/status", "fall": 5 } },
                            { "id": "b", "address": "[2001:db8::1]:80" } ],
              "limits": { "maxRequestLineBytes": 4096, "maxHeaderBytes": 16384, "maxHeaderCount": 50, "maxBodyBytes": 5000000000 },
              "timeouts": { "headersMs": 5000, "keepAliveMs": 30000, "connectMs": 1000, "responseHeadMs": 20000, "backendIdleMs": 10000, "shutdownTimeoutMs": 0 },
              "forwardedHeaders": { "for": false, "proto": true, "host": false },
              "pool": { "maxIdlePerBackend": 16 },
              "health": { "enabled": false, "path": "/ready", "method": "HEAD", "intervalMs": 500, "timeoutMs": 250, "expectStatus": "204",
                          "expectBody": "ok", "rise": 3, "fall": 4, "maxBackoffMs": 8000, "jitter": 0.2, "unknownTakesTraffic": false,
                          "slowStartMs": 30000, "panicThresholdPercent": 40 },
              "circuit": { "enabled": false, "consecutiveFailures": 2, "cooldownMs": 100, "maxCooldownMs": 1000, "count5xx": true },
              "retries": { "max": 1, "budgetPercent": 5, "budgetWindowSeconds": 30, "minRetriesPerWindow": 0, "maxBufferedBodyBytes": 0 } }
            """);

        string written = ConfigWriter.ToJson(original, redactSecrets: false);
        var reread = Load(written);
        AssertEqual(reread, original);
        Assert.That(ConfigWriter.ToJson(reread, redactSecrets: false), Is.EqualTo(written));
    }

    [TestCase("nginx")]
    [TestCase("maglev")]
    [TestCase("round-robin")]
    public void Written_ThenRead_KeepsEachAlgorithmsSettings(string algorithm)
    {
        var original = Load($$"""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "{{algorithm}}" },
              "backends": [ { "id": "a", "address": "127.0.0.1:8001" } ] }
            """);
        AssertEqual(Load(ConfigWriter.ToJson(original, redactSecrets: false)), original);
    }

    [Test]
    public void AMinimalFile_IsWrittenWithEveryDefaultFilledIn()
    {
        var config = Load("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "a", "address": "127.0.0.1:8001" } ] }""");
        using var json = JsonDocument.Parse(ConfigWriter.ToJson(config, redactSecrets: true));
        var root = json.RootElement;
        var missing = new List<string>();
        foreach (var section in DocumentedSection.All())
        {
            // "listeners[].tls", a backend's health, discovery entries and the cluster section are absent unless given.
            var element = section.Heading switch
            {
                "discovery" => (JsonElement?)null,
                "cluster" => null,
                "listeners" => root.GetProperty("listeners")[0],
                "backends" => root.GetProperty("backends")[0],
                // No rate limits by default: an empty list, no entry to fill in.
                "rateLimits" => (JsonElement?)null,
                _ when section.Heading.Contains('.', StringComparison.Ordinal) => (JsonElement?)null,
                _ => root.GetProperty(section.Heading),
            };
            if (element is null)
            {
                continue;
            }

            missing.AddRange(section.Rows.Where(r => r.Default != "none" && !element.Value.TryGetProperty(r.Name, out _)).Select(r => $"{section.Heading}.{r.Name}"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Empty);
            Assert.That(root.GetProperty("timeouts").GetProperty("keepAliveMs").GetInt32(), Is.EqualTo(75000));
            Assert.That(root.GetProperty("health").GetProperty("expectStatus").GetString(), Is.EqualTo("200-399"));
            Assert.That(root.GetProperty("routing").GetProperty("hash").GetString(), Is.EqualTo("xxhash3"));
            Assert.That(root.GetProperty("admin").GetProperty("address").GetString(), Is.EqualTo("127.0.0.1:9090"));
            Assert.That(root.GetProperty("listeners")[0].GetProperty("mode").GetString(), Is.EqualTo("http"));
            Assert.That(root.GetProperty("admin").TryGetProperty("token", out _), Is.False, "no token, nothing written");
        });
    }

    [Test]
    public void Secrets_AreRedactedOnRequest_AndARedactedFileDoesNotLoad()
    {
        var config = Load($$"""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "admin": { "address": "*:9090", "token": "{{Token}}" },
              "backends": [ { "id": "a", "address": "127.0.0.1:8001" } ] }
            """);
        string redacted = ConfigWriter.ToJson(config, redactSecrets: true);
        string plain = ConfigWriter.ToJson(config, redactSecrets: false);
        using var json = JsonDocument.Parse(redacted);
        var reloaded = ConfigLoader.Parse(redacted);
        Assert.Multiple(() =>
        {
            Assert.That(redacted, Does.Not.Contain(Token));
            Assert.That(json.RootElement.GetProperty("admin").GetProperty("token").GetString(), Is.EqualTo("(redacted)"));
            Assert.That(plain, Does.Contain(Token));
            Assert.That(reloaded.Errors.Select(e => e.Path), Is.EqualTo(new[] { "admin.token" }));
        });
    }

    [Test]
    public void Write_ToAUtf8JsonWriter_WritesOneObject()
    {
        var config = Load("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "a", "address": "127.0.0.1:8001" } ] }""");
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            ConfigWriter.Write(config, writer, redactSecrets: true);
        }

        using var json = JsonDocument.Parse(stream.ToArray());
        // Every section but cluster, which is written only when the file gives it.
        Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(BalancerConfig.Schema.Names.Where(n => n != "cluster")));
    }

    private static BalancerConfig Load(string json)
    {
        var result = ConfigLoader.Parse(json);
        Assert.That(result.Errors, Is.Empty, json);
        return result.Config!;
    }

    // Records compare their lists by reference and KeySource has no value equality: compare
    // section by section, lists item by item, the key by its text.
    private static void AssertEqual(BalancerConfig actual, BalancerConfig expected) => Assert.Multiple(() =>
    {
        Assert.That(actual.Listeners, Is.EqualTo(expected.Listeners));
        Assert.That(actual.Admin with { CorsOrigins = [], AllowedHosts = [] }, Is.EqualTo(expected.Admin with { CorsOrigins = [], AllowedHosts = [] }));
        Assert.That(actual.Admin.CorsOrigins, Is.EqualTo(expected.Admin.CorsOrigins));
        Assert.That(actual.Admin.AllowedHosts, Is.EqualTo(expected.Admin.AllowedHosts));
        Assert.That(actual.Routing with { Key = expected.Routing.Key }, Is.EqualTo(expected.Routing));
        Assert.That(actual.Routing.Key.ToString(), Is.EqualTo(expected.Routing.Key.ToString()));
        Assert.That(actual.Backends, Is.EqualTo(expected.Backends));
        Assert.That(actual.Discovery, Is.EqualTo(expected.Discovery));
        Assert.That(actual with { Listeners = expected.Listeners, Admin = expected.Admin, Routing = expected.Routing, Backends = expected.Backends, Discovery = expected.Discovery },
            Is.EqualTo(expected));
    });
}
