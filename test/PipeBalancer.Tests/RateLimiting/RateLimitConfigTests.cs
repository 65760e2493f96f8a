using Microsoft.Extensions.Logging.Abstractions;
using PipeBalancer.Configuration;
using PipeBalancer.RateLimiting;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.RateLimiting;

/// <summary>lb.json's <c>rateLimits</c>: reading, every error with its path, and what a reload keeps.</summary>
public sealed class RateLimitConfigTests
{
    private const string Start = """
        { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" }, { "name": "raw", "address": "127.0.0.1:8081", "mode": "tcp" } ],
          "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ],
        """;

    [Test]
    public void AFullEntry_IsRead()
    {
        var result = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "per-client", "listeners": [ "web", "raw" ], "ratePerSecond": 2.5, "burst": 10,
                                "ipv4Prefix": 24, "ipv6Prefix": 56, "capacity": 1000,
                                "overrides": [ { "match": [ "10.0.0.0/8" ], "ratePerSecond": 100, "burst": 200 } ],
                                "allow": [ "127.0.0.1", "::1/128" ] },
                              { "name": "per-key", "listeners": [ "web" ], "key": "header:X-Api-Key", "ratePerSecond": 1, "burst": 1 } ] }
            """);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        var limits = result.Config!.RateLimits;
        Assert.Multiple(() =>
        {
            Assert.That(limits, Has.Count.EqualTo(2));
            Assert.That(limits[0].Key, Is.EqualTo(LimitKey.ClientIp));
            Assert.That(limits[0].RatePerSecond, Is.EqualTo(2.5));
            Assert.That(limits[0].Ipv6Prefix, Is.EqualTo(56));
            Assert.That(limits[0].Overrides.Single().Burst, Is.EqualTo(200));
            Assert.That(limits[0].Allow, Is.EqualTo(new[] { "127.0.0.1", "::1/128" }));
            Assert.That(limits[1].Key.Kind, Is.EqualTo(LimitKeyKind.Header));
            Assert.That(limits[1].Capacity, Is.EqualTo(RateLimitConfig.DefaultCapacity));
        });
    }

    [Test]
    public void NoSection_MeansNoLimiters()
    {
        var result = ConfigLoader.Parse(Start.TrimEnd().TrimEnd(',') + " }");
        Assert.That(result.Config!.RateLimits, Is.Empty);
    }

    [Test]
    public void EveryError_ComesWithItsPath_InOneRun()
    {
        var result = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "a", "listeners": [ "nope", "raw" ], "key": "header:X-Api-Key", "ratePerSecond": 0, "burst": 0 },
                              { "name": "a", "listeners": [ "web" ], "key": "query", "ratePerSecond": 1, "burst": 1,
                                "allow": [ "10.0.0.0/8", "banana" ],
                                "overrides": [ { "match": [ "300.1.1.1" ], "ratePerSecond": 1, "burst": 1 }, { "match": [], "ratePerSecond": 1 } ] } ] }
            """);
        Assert.That(result.Errors.Select(e => e.ToString()), Is.EquivalentTo(new[]
        {
            "rateLimits[0].ratePerSecond: must be above 0 and at most 1000000, got 0",
            "rateLimits[0].burst: must be 1..1000000, got 0",
            "rateLimits[0].listeners[0]: no listener named 'nope' (listeners: 'web', 'raw')",
            "rateLimits[0].listeners[1]: listener 'raw' is a tcp listener: it can only be limited by client-ip, not by header:X-Api-Key",
            "rateLimits[1].key: unknown rate limit key 'query'; expected client-ip, header:NAME, cookie:NAME or path-prefix",
            "rateLimits[1].overrides[1].burst: is required",
            "rateLimits[1].name: duplicate name 'a' (also rateLimits[0])",
            "rateLimits[1].allow[1]: 'banana' is not an IP address or a CIDR (10.0.0.0/8, 2001:db8::/32); a client-ip limiter matches client addresses",
            "rateLimits[1].overrides[0].match[0]: '300.1.1.1' is not an IP address or a CIDR (10.0.0.0/8, 2001:db8::/32); a client-ip limiter matches client addresses",
            "rateLimits[1].overrides[1].match: needs at least one CIDR or key value",
        }));
    }

    [Test]
    public void PathSegments_OnAnotherKey_IsWarnedAbout()
    {
        var result = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "a", "listeners": [ "web" ], "ratePerSecond": 1, "burst": 1, "pathSegments": 2 } ] }
            """);
        Assert.That(result.Warnings.Select(w => w.ToString()), Is.EqualTo(new[] { "rateLimits[0].pathSegments: only the path-prefix key uses it; ignored" }));
    }

    [Test]
    public void WrittenBack_ReadsAsTheSameLimits()
    {
        var config = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "a", "listeners": [ "web" ], "key": "cookie:sid", "ratePerSecond": 0.5, "burst": 3,
                                "overrides": [ { "match": [ "vip" ], "ratePerSecond": 10, "burst": 20 } ], "allow": [ "ops" ] } ] }
            """).Config!;
        var again = ConfigLoader.Parse(ConfigWriter.ToJson(config, redactSecrets: false)).Config!;
        Assert.That(again.RateLimits.Single().SameAs(config.RateLimits.Single()), Is.True);
    }

    [Test]
    public async Task Reload_KeepsTheBucketsOfUnchangedLimiters_AndStartsChangedOnesAfresh()
    {
        var config = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "kept", "listeners": [ "web" ], "ratePerSecond": 0.001, "burst": 1 },
                              { "name": "changed", "listeners": [ "web" ], "ratePerSecond": 0.001, "burst": 1 } ] }
            """).Config!;
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var client = Limits.Address("192.0.2.1");
        foreach (var limiter in state.Current.RateLimits.All)
        {
            Assert.That(limiter.CheckAddress(client), Is.Zero);
            Assert.That(limiter.CheckAddress(client), Is.Positive);
        }

        // The same file read again (new objects, equal settings), with one limiter's burst changed.
        var reloaded = ConfigLoader.Parse(Start + """
              "rateLimits": [ { "name": "kept", "listeners": [ "web" ], "ratePerSecond": 0.001, "burst": 1 },
                              { "name": "changed", "listeners": [ "web" ], "ratePerSecond": 0.001, "burst": 2 } ] }
            """).Config!;
        var before = state.Current.RateLimits.All;
        state.Apply(reloaded, runtimeEdit: false);
        var after = state.Current.RateLimits.For("web");
        Assert.Multiple(() =>
        {
            Assert.That(after[0], Is.SameAs(before[0]));
            Assert.That(after[0].CheckAddress(client), Is.Positive, "still limited");
            Assert.That(after[0].Limited, Is.EqualTo(2), "counters carried over");
            Assert.That(after[1], Is.Not.SameAs(before[1]));
            Assert.That(after[1].CheckAddress(client), Is.Zero, "a fresh bucket");
            Assert.That(state.Current.RateLimits.For("raw"), Is.Empty);
        });
    }
}
