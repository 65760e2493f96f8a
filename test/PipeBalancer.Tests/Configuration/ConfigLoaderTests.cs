using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string Listeners = """ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] """;
    private const string Backends = """ "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] """;

    [Test]
    public void RepositoryLbJson_IsValid_AndHasTheDocumentedShape()
    {
        var result = ConfigLoader.LoadFile(RepoFile("lb.json"));
        Assert.That(result.Errors, Is.Empty);
        var config = result.Config!;
        Assert.Multiple(() =>
        {
            Assert.That(config.Listeners.Single().Address.Text, Is.EqualTo("127.0.0.1:8080"));
            Assert.That(config.Admin.Address.Text, Is.EqualTo("127.0.0.1:9090"));
            Assert.That(config.Routing, Is.EqualTo(RoutingConfig.Default));
            Assert.That(config.Backends.Select(b => b.Id), Is.EqualTo(new[] { "s1", "s2", "s3" }));
        });
    }

    [Test]
    public void MissingSections_TakeTheirDefaults()
    {
        var config = Valid($$"""{ {{Listeners}}, {{Backends}} }""");
        Assert.Multiple(() =>
        {
            Assert.That(config.Admin.Address, Is.EqualTo(AdminConfig.DefaultAddress));
            Assert.That(config.Routing, Is.EqualTo(RoutingConfig.Default));
            Assert.That(config.Listeners[0].Mode, Is.EqualTo(ListenerMode.Http));
            Assert.That(config.Backends[0].Weight, Is.EqualTo(1));
        });
    }

    [Test]
    public void CommentsAndTrailingCommas_AreAccepted()
    {
        var config = Valid($$"""
            {
              // the public listener
              {{Listeners}},
              /* one backend */
              {{Backends}},
            }
            """);
        Assert.That(config.Backends, Has.Count.EqualTo(1));
    }

    [Test]
    public void EveryRoutingSetting_IsRead()
    {
        var config = Valid($$"""
            { {{Listeners}}, {{Backends}},
              "routing": { "algorithm": "ring-bounded", "hash": "md5", "virtualNodes": 40, "key": "cookie:sid", "loadFactor": 1.5 } }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Routing.Algorithm, Is.EqualTo(RoutingAlgorithm.RingBounded));
            Assert.That(config.Routing.Hash, Is.EqualTo(HashFunction.Md5));
            Assert.That(config.Routing.VirtualNodes, Is.EqualTo(40));
            Assert.That(config.Routing.Key.Kind, Is.EqualTo(KeySourceKind.Cookie));
            Assert.That(config.Routing.Key.Name, Is.EqualTo("sid"));
            Assert.That(config.Routing.LoadFactor, Is.EqualTo(1.5));
        });
    }

    [Test]
    public void Addresses_AcceptIPv4IPv6AndHostNames_KeepingTheTextAsWritten()
    {
        var config = Valid($$"""
            { "listeners": [ { "name": "a", "address": "*:8080" }, { "name": "b", "address": "[::]:8081", "mode": "tcp" } ],
              "backends": [ { "id": "v4", "address": "10.0.0.1:80" }, { "id": "v6", "address": "[2001:db8::1]:80" },
                            { "id": "dns", "address": "backend-1.internal:8080" } ] }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Listeners[0].Address.Host, Is.EqualTo("*"));
            Assert.That(config.Listeners[1].Mode, Is.EqualTo(ListenerMode.Tcp));
            Assert.That(config.Backends[1].Address.Host, Is.EqualTo("2001:db8::1"));
            Assert.That(config.Backends[1].Address.Text, Is.EqualTo("[2001:db8::1]:80"));
            Assert.That(config.Backends[2].Address.Port, Is.EqualTo(8080));
        });
    }

    [Test]
    public void DataPlaneSections_AreRead()
    {
        var config = Valid($$"""
            { {{Listeners}}, {{Backends}},
              "limits": { "maxRequestLineBytes": 4096, "maxHeaderBytes": 16384, "maxHeaderCount": 50, "maxBodyBytes": 1048576 },
              "timeouts": { "headersMs": 5000, "keepAliveMs": 30000, "connectMs": 1000, "responseHeadMs": 20000, "backendIdleMs": 10000 },
              "forwardedHeaders": { "for": true, "proto": false, "host": false },
              "pool": { "maxIdlePerBackend": 16 } }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Limits.MaxRequestLineBytes, Is.EqualTo(4096));
            Assert.That(config.Limits.MaxHeaderBytes, Is.EqualTo(16384));
            Assert.That(config.Limits.MaxHeaderCount, Is.EqualTo(50));
            Assert.That(config.Limits.MaxBodyBytes, Is.EqualTo(1048576));
            Assert.That(config.Timeouts, Is.EqualTo(new TimeoutConfig { HeadersMs = 5000, KeepAliveMs = 30000, ConnectMs = 1000, ResponseHeadMs = 20000, BackendIdleMs = 10000 }));
            Assert.That(config.ForwardedHeaders, Is.EqualTo(new ForwardedHeadersConfig(For: true, Proto: false, Host: false)));
            Assert.That(config.Pool.MaxIdlePerBackend, Is.EqualTo(16));
        });
    }

    [Test]
    public void Drain_IsReadPerBackend()
    {
        var config = Valid($$"""{ {{Listeners}}, "backends": [ { "id": "a", "address": "127.0.0.1:1", "drain": true }, { "id": "b", "address": "127.0.0.1:2" } ] }""");
        Assert.That(config.Backends.Select(b => b.Drain), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void BackendHealth_OverridesTheSection_FieldByField()
    {
        var config = Valid($$"""
            { {{Listeners}},
              "health": { "path": "/ping", "intervalMs": 3000, "rise": 3 },
              "backends": [ { "id": "a", "address": "127.0.0.1:1", "health": { "path": "/status", "fall": 5 } },
                            { "id": "b", "address": "127.0.0.1:2" } ] }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Backends[0].Health, Is.EqualTo(config.Health with { Path = "/status", Fall = 5 }));
            Assert.That(config.Backends[0].Health!.IntervalMs, Is.EqualTo(3000), "unset fields come from the section");
            Assert.That(config.Backends[1].Health, Is.Null);
        });
    }

    [Test]
    public void BackendHealth_ErrorsNameTheBackendsPath()
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, "backends": [ { "id": "a", "address": "127.0.0.1:1", "health": { "rise": 0, "paht": "/x" } } ] }""");
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[] { "backends[0].health.rise", "backends[0].health.paht" }));
    }

    [Test]
    public void HealthSection_IsRead()
    {
        var config = Valid($$"""
            { {{Listeners}}, {{Backends}},
              "health": { "enabled": true, "path": "/ready", "method": "HEAD", "intervalMs": 500, "timeoutMs": 250, "expectStatus": "200-204",
                          "expectBody": "ok", "rise": 3, "fall": 4, "maxBackoffMs": 8000, "jitter": 0.2, "unknownTakesTraffic": false,
                          "slowStartMs": 30000, "panicThresholdPercent": 40 } }
            """);
        Assert.That(config.Health, Is.EqualTo(new HealthConfig
        {
            Enabled = true, Path = "/ready", Method = "HEAD", IntervalMs = 500, TimeoutMs = 250, StatusMin = 200, StatusMax = 204,
            ExpectBody = "ok", Rise = 3, Fall = 4, MaxBackoffMs = 8000, Jitter = 0.2, UnknownTakesTraffic = false,
            SlowStartMs = 30000, PanicThresholdPercent = 40,
        }));
    }

    [Test]
    public void DataPlaneSections_DefaultToWhatPeersUse()
    {
        var config = Valid($$"""{ {{Listeners}}, {{Backends}} }""");
        Assert.Multiple(() =>
        {
            Assert.That(config.Limits, Is.EqualTo(PipeBalancer.Http1.HttpLimits.Default));
            Assert.That(config.Limits.MaxRequestLineBytes, Is.EqualTo(8192));
            Assert.That(config.Limits.MaxHeaderBytes, Is.EqualTo(32768));
            Assert.That(config.Limits.MaxHeaderCount, Is.EqualTo(100));
            Assert.That(config.Limits.MaxBodyBytes, Is.Zero);
            Assert.That(config.Timeouts, Is.EqualTo(TimeoutConfig.Default));
            Assert.That(config.ForwardedHeaders, Is.EqualTo(new ForwardedHeadersConfig(true, true, true)));
        });
    }

    [TestCase("""{ "circuit": { "consecutiveFailures": 0 } }""", "circuit.consecutiveFailures", "must be 1..1000, got 0")]
    [TestCase("""{ "retries": { "max": 11 } }""", "retries.max", "must be 0..10, got 11")]
    [TestCase("""{ "health": { "panicThresholdPercent": 101 } }""", "health.panicThresholdPercent", "must be 0..100, got 101")]
    [TestCase("""{ "retries": { "budget": 5 } }""", "retries.budget", "unknown property")]
    [TestCase("""{ "circuit": { "count5xx": 1 } }""", "circuit.count5xx", "must be true or false")]
    [TestCase("""{ "health": { "expectStatus": "200-99" } }""", "health.expectStatus", "range such as")]
    [TestCase("""{ "health": { "method": "POST" } }""", "health.method", "expected one of GET, HEAD")]
    [TestCase("""{ "health": { "path": "health" } }""", "health.path", "starting with '/'")]
    [TestCase("""{ "health": { "fall": 0 } }""", "health.fall", "must be 1..100, got 0")]
    [TestCase("""{ "health": { "jitter": 0.9 } }""", "health.jitter", "at most 0.5")]
    [TestCase("""{ "limits": { "maxHeaderCount": 0 } }""", "limits.maxHeaderCount", "must be 1..10000, got 0")]
    [TestCase("""{ "limits": { "maxBodyBytes": -1 } }""", "limits.maxBodyBytes", "whole number 0..")]
    [TestCase("""{ "limits": { "maxHeaders": 5 } }""", "limits.maxHeaders", "unknown property")]
    [TestCase("""{ "timeouts": { "connectMs": "5s" } }""", "timeouts.connectMs", "got string \"5s\"")]
    [TestCase("""{ "timeouts": { "headersMs": 50 } }""", "timeouts.headersMs", "must be 100..")]
    [TestCase("""{ "timeouts": [] }""", "timeouts", "must be an object")]
    [TestCase("""{ "forwardedHeaders": { "for": "yes" } }""", "forwardedHeaders.for", "must be true or false")]
    [TestCase("""{ "pool": { "maxIdle": 3 } }""", "pool.maxIdle", "unknown property; expected one of maxIdlePerBackend")]
    public void InvalidDataPlaneSection_NamesThePathAndTheReason(string section, string path, string reason)
    {
        string json = section.TrimEnd().TrimEnd('}') + $$""", {{Listeners}}, {{Backends}} }""";
        var result = ConfigLoader.Parse(json);
        Assert.That(result.Errors.Where(e => e.Path == path).Select(e => e.Reason), Has.Some.Contains(reason), string.Join("; ", result.Errors));
    }

    [Test]
    public void NginxAlgorithm_HashesWithCrc32()
    {
        var config = Valid($$"""{ {{Listeners}}, {{Backends}}, "routing": { "algorithm": "nginx" } }""");
        Assert.That(config.Routing.Hash, Is.EqualTo(HashFunction.Crc32));
    }

    // One case per kind of error: the JSON path it must name and words of the reason.
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] }""", "backends", "is required")]
    [TestCase("""{ "listeners": [], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners", "at least one")]
    [TestCase("""{ "listeners": {}, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners", "must be an array")]
    [TestCase("""[1]""", "$", "must be an object")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backend": [] }""", "backend", "did you mean 'backends'")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080", "adress": "x" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].adress", "did you mean 'address'")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "colour": "red" } ] }""", "backends[0].colour", "unknown property; expected one of id, address, weight")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080", "name": "x" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].name", "appears twice")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 0 } ] }""", "backends[0].weight", "must be 1..1000, got 0")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 1.5 } ] }""", "backends[0].weight", "whole number")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": "2" } ] }""", "backends[0].weight", "got string \"2\"")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": 8080 } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].address", "must be a string, got number 8080")]
    [TestCase("""{ "listeners": [ { "name": "web" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].address", "is required")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080", "mode": "udp" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].mode", "expected one of http, tcp")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1" } ] }""", "backends[0].address", "must be host:port")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:99999" } ] }""", "backends[0].address", "port must be a number 0..65535")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:0" } ] }""", "backends[0].address", "port must be 1..65535")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "::1:8001" } ] }""", "backends[0].address", "must be in brackets")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "bad_host:80" } ] }""", "backends[0].address", "neither an IP address nor a valid host name")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "*:80" } ] }""", "backends[0].address", "only valid for listeners")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s 1", "address": "127.0.0.1:8001" } ] }""", "backends[0].id", "letters, digits")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "a", "address": "127.0.0.1:8001" }, { "id": "a", "address": "127.0.0.1:8002" } ] }""", "backends[1].id", "duplicate id 'a' (also backends[0])")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "a", "address": "Backend:80" }, { "id": "b", "address": "backend:80" } ] }""", "backends[1].address", "duplicate address")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "a", "address": "[::1]:80" }, { "id": "b", "address": "[0:0::1]:80" } ] }""", "backends[1].address", "duplicate address")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" }, { "name": "web", "address": "127.0.0.1:8081" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[1].name", "duplicate name 'web'")]
    [TestCase("""{ "listeners": [ { "name": "a", "address": "127.0.0.1:8080" }, { "name": "b", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[1].address", "duplicate address")]
    [TestCase("""{ "listeners": [ { "name": "a", "address": "127.0.0.1:9090" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "listeners[0].address", "also the admin address")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "admin": { "address": "nowhere" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "admin.address", "must be host:port")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "random" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.algorithm", "expected one of ring, ring-bounded, maglev, nginx, round-robin, least-connections")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "hash": "sha1" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.hash", "expected one of xxhash3, fnv1a, djb2, md5")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "key": "url" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.key", "unknown key source 'url'")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "key": "header:X Y" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.key", "token characters")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "virtualNodes": 0 }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.virtualNodes", "must be 1..10000, got 0")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "ring-bounded", "loadFactor": 1.0 }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.loadFactor", "above 1")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "maglev", "tableSize": 65536 }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.tableSize", "must be a prime number")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "nginx", "hash": "md5" }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.hash", "hashes with crc32")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "algorithm": "nginx", "virtualNodes": 100 }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }""", "routing.virtualNodes", "160 points per unit of weight")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "routing": { "virtualNodes": 10000 }, "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 1000 } ] }""", "routing.virtualNodes", "ring points; at most")]
    [TestCase("""{ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], """, "$", "not valid JSON at line 1")]
    public void InvalidConfig_NamesThePathAndTheReason(string json, string path, string reason)
    {
        var result = ConfigLoader.Parse(json);
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.False);
            Assert.That(result.Errors.Select(e => e.ToString()), Has.Some.StartsWith(path + ": ").And.Some.Contains(reason));
            Assert.That(result.Errors.Where(e => e.Path == path).Select(e => e.Reason), Has.Some.Contains(reason));
        });
    }

    [Test]
    public void InvalidJson_GivesLineAndColumnCountedFromOne()
    {
        var result = ConfigLoader.Parse("{\n  \"listeners\": [,]\n}");
        Assert.That(result.Errors.Single().ToString(), Does.StartWith("$: not valid JSON at line 2, column 17"));
    }

    [Test]
    public void Validation_ReportsEveryErrorInOneRun()
    {
        var result = ConfigLoader.Parse("""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080", "mode": "htp" } ],
              "routing": { "algoritm": "ring", "hash": "sha1", "virtualNodes": 0 },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" },
                            { "id": "s1", "address": "127.0.0.1:8001", "weight": 0 },
                            { "id": "s3", "address": "nohost", "weight": "2" } ] }
            """);
        Assert.That(result.Errors.Select(e => e.Path), Is.EquivalentTo(new[]
        {
            "listeners[0].mode", "routing.algoritm", "routing.hash", "routing.virtualNodes",
            "backends[1].id", "backends[1].address", "backends[1].weight", "backends[2].address", "backends[2].weight",
        }));
    }

    [Test]
    public void SettingsAnAlgorithmIgnores_AreWarnedAbout()
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "routing": { "algorithm": "ring", "loadFactor": 2, "tableSize": 101 } }""");
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.True);
            Assert.That(result.Warnings.Select(w => w.Path), Is.EquivalentTo(new[] { "routing.loadFactor", "routing.tableSize" }));
        });
    }

    [Test]
    public void ListenersOnPortZero_DoNotCollide()
    {
        var config = Valid("""
            { "listeners": [ { "name": "a", "address": "127.0.0.1:0" }, { "name": "b", "address": "127.0.0.1:0" } ],
              "admin": { "address": "127.0.0.1:0" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);
        Assert.That(config.Listeners, Has.Count.EqualTo(2));
    }

    [Test]
    public void MissingFile_IsAnErrorNotAnException()
    {
        var result = ConfigLoader.LoadFile(Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid(), "lb.json"));
        Assert.That(result.Errors.Single().Reason, Does.StartWith("cannot read"));
    }

    [Test]
    public void AdminSection_TokenCorsAndRateLimit_AreRead()
    {
        var config = Valid($$"""
            { {{Listeners}}, {{Backends}},
              "admin": { "address": "0.0.0.0:9090", "token": "0123456789abcdef0123", "corsOrigins": [ "https://ops.example.com", "http://localhost:3000" ], "rateLimitPerSecond": 20 } }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Admin.Token, Is.EqualTo("0123456789abcdef0123"));
            Assert.That(config.Admin.CorsOrigins, Is.EqualTo(new[] { "https://ops.example.com", "http://localhost:3000" }));
            Assert.That(config.Admin.RateLimitPerSecond, Is.EqualTo(20));
            Assert.That(config.Admin.IsLoopback, Is.False);
        });
    }

    [TestCase("""{ "address": "0.0.0.0:9090" }""", "admin.token", "is required when admin.address ('0.0.0.0:9090') is not a loopback address")]
    [TestCase("""{ "address": "*:9090" }""", "admin.token", "is required when admin.address")]
    [TestCase("""{ "token": "short" }""", "admin.token", "at least 16 characters")]
    [TestCase("""{ "token": "0123456789 abcdef0123" }""", "admin.token", "without whitespace")]
    [TestCase("""{ "corsOrigins": "https://a.example" }""", "admin.corsOrigins", "must be an array")]
    [TestCase("""{ "corsOrigins": [ "https://a.example/path" ] }""", "admin.corsOrigins[0]", "must be an origin")]
    [TestCase("""{ "corsOrigins": [ "ftp://a.example" ] }""", "admin.corsOrigins[0]", "must be an origin")]
    [TestCase("""{ "corsOrigins": [ 3 ] }""", "admin.corsOrigins[0]", "must be a string")]
    [TestCase("""{ "rateLimitPerSecond": -1 }""", "admin.rateLimitPerSecond", "")]
    [TestCase("""{ "tokn": "0123456789abcdef0123" }""", "admin.tokn", "did you mean 'token'?")]
    public void AdminSection_Invalid_NamesThePathAndTheReason(string admin, string path, string reason)
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "admin": {{admin}} }""");
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path));
        Assert.That(result.Errors.First(e => e.Path == path).Reason, Does.Contain(reason));
    }

    [TestCase("127.0.0.1:9090")]
    [TestCase("[::1]:9090")]
    [TestCase("localhost:9090")]
    public void AdminOnLoopback_NeedsNoToken(string address)
    {
        var config = Valid($$"""{ {{Listeners}}, {{Backends}}, "admin": { "address": "{{address}}" } }""");
        Assert.That(config.Admin.IsLoopback, Is.True);
    }

    internal static string RepoFile(string name)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, name);
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "PipeBalancer.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} not found above the test directory");
    }

    private static BalancerConfig Valid(string json)
    {
        var result = ConfigLoader.Parse(json);
        Assert.That(result.Errors, Is.Empty);
        return result.Config!;
    }
}
