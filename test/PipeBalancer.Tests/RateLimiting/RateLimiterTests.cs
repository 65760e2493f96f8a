using Microsoft.Extensions.Time.Testing;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Tests.RateLimiting;

/// <summary>The token bucket arithmetic of one limiter, on a fake clock.</summary>
public sealed class RateLimiterTests
{
    private static readonly byte[] Client = Limits.Address("192.0.2.10");
    private readonly FakeTimeProvider _time = new();

    [Test]
    public void Burst_IsAllowedAtOnce_ThenTheNextIsLimited()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 3), _time);
        var results = Enumerable.Range(0, 4).Select(_ => limiter.CheckAddress(Client)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(results, Is.EqualTo(new[] { 0, 0, 0, 1 }));
            Assert.That(limiter.Allowed, Is.EqualTo(3));
            Assert.That(limiter.Limited, Is.EqualTo(1));
        });
    }

    [Test]
    public void Tokens_RefillAtTheRate_AndNeverAboveTheBurst()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 2, burst: 2), _time);
        Assert.That(Drain(limiter), Is.EqualTo(2));

        // Half a second at 2 a second: one token.
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(Drain(limiter), Is.EqualTo(1));

        // An hour idle fills the bucket to the burst, not beyond.
        _time.Advance(TimeSpan.FromHours(1));
        Assert.That(Drain(limiter), Is.EqualTo(2));
    }

    [Test]
    public void RetryAfter_IsTheSecondsUntilATokenRoundedUp()
    {
        // One token every 10 s.
        var limiter = new RateLimiter(Limits.Config(rate: 0.1, burst: 1), _time);
        Assert.That(limiter.CheckAddress(Client), Is.Zero);
        Assert.That(limiter.CheckAddress(Client), Is.EqualTo(10));
        _time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.That(limiter.CheckAddress(Client), Is.EqualTo(8));
        _time.Advance(TimeSpan.FromSeconds(7.4));
        Assert.That(limiter.CheckAddress(Client), Is.EqualTo(1));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(limiter.CheckAddress(Client), Is.Zero);
    }

    [Test]
    public void OtherKeys_HaveTheirOwnBuckets()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1), _time);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.CheckAddress(Client), Is.Zero);
            Assert.That(limiter.CheckAddress(Client), Is.Positive);
            Assert.That(limiter.CheckAddress(Limits.Address("192.0.2.11")), Is.Zero);
        });
    }

    [Test]
    public void Ipv6Addresses_ShareABucketPerPrefix()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1) with { Ipv6Prefix = 64 }, _time);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.CheckAddress(Limits.Address("2001:db8:1:2::1")), Is.Zero);
            // Same /64, another interface id: the same bucket.
            Assert.That(limiter.CheckAddress(Limits.Address("2001:db8:1:2:ffff::9")), Is.Positive);
            // Another /64.
            Assert.That(limiter.CheckAddress(Limits.Address("2001:db8:1:3::1")), Is.Zero);
        });
    }

    [Test]
    public void Ipv4Prefix_GroupsAddresses_AndIpv4MappedCountsAsIpv4()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1) with { Ipv4Prefix = 24 }, _time);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.CheckAddress(Limits.Address("198.51.100.7")), Is.Zero);
            Assert.That(limiter.CheckAddress(Limits.Address("::ffff:198.51.100.200")), Is.Positive);
            Assert.That(limiter.CheckAddress(Limits.Address("198.51.101.7")), Is.Zero);
        });
    }

    [Test]
    public void AllowList_ExemptsAddressesInItsNetworks()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1) with { Allow = ["10.0.0.0/8", "2001:db8::1"] }, _time);
        Assert.Multiple(() =>
        {
            Assert.That(Enumerable.Range(0, 50).Select(_ => limiter.CheckAddress(Limits.Address("10.1.2.3"))), Is.All.Zero);
            Assert.That(Enumerable.Range(0, 50).Select(_ => limiter.CheckAddress(Limits.Address("2001:db8::1"))), Is.All.Zero);
            Assert.That(Drain(limiter, Limits.Address("2001:db8::2")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Address("11.1.2.3")), Is.EqualTo(1));
        });
    }

    [Test]
    public void Override_GivesMatchingAddressesTheirOwnRate()
    {
        var config = Limits.Config(rate: 1, burst: 1) with
        {
            Overrides = [new() { Match = ["203.0.113.0/24"], RatePerSecond = 1, Burst = 5 }],
        };
        var limiter = new RateLimiter(config, _time);
        Assert.Multiple(() =>
        {
            Assert.That(Drain(limiter, Limits.Address("203.0.113.9")), Is.EqualTo(5));
            // Each matching address has a bucket of its own.
            Assert.That(Drain(limiter, Limits.Address("203.0.113.10")), Is.EqualTo(5));
            Assert.That(Drain(limiter, Limits.Address("203.0.114.9")), Is.EqualTo(1));
        });
    }

    [Test]
    public void HeaderKey_CountsByTheValue_AndOverridesAndAllowMatchValues()
    {
        var config = Limits.Config(rate: 1, burst: 1, key: "header:X-Api-Key") with
        {
            Overrides = [new() { Match = ["gold"], RatePerSecond = 1, Burst = 3 }],
            Allow = ["internal"],
        };
        var limiter = new RateLimiter(config, _time);
        Assert.Multiple(() =>
        {
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: a\r\n\r\n")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: b\r\n\r\n")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nx-api-key: gold\r\n\r\n")), Is.EqualTo(3));
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: internal\r\n\r\n")), Is.EqualTo(100));
        });
    }

    [Test]
    public void HeaderKey_Missing_IsCountedByTheClientAddress()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 2, key: "header:X-Api-Key"), _time);
        var head = Limits.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(Drain(limiter, head, Client), Is.EqualTo(2));
            Assert.That(Drain(limiter, head, Limits.Address("192.0.2.99")), Is.EqualTo(2));
        });
    }

    [Test]
    public void CookieKey_CountsByTheCookiesValue()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1, key: "cookie:session"), _time);
        Assert.Multiple(() =>
        {
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; session=abc\r\n\r\n")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Head("GET /other HTTP/1.1\r\nHost: x\r\nCookie: session=abc\r\n\r\n")), Is.Zero);
            Assert.That(Drain(limiter, Limits.Head("GET / HTTP/1.1\r\nHost: x\r\nCookie: session=def\r\n\r\n")), Is.EqualTo(1));
        });
    }

    [Test]
    public void PathPrefixKey_CountsByTheFirstSegments()
    {
        var limiter = new RateLimiter(Limits.Config(rate: 1, burst: 1, key: "path-prefix") with
        {
            PathSegments = 2,
            Overrides = [new() { Match = ["/api/search"], RatePerSecond = 1, Burst = 2 }],
        }, _time);
        Assert.Multiple(() =>
        {
            Assert.That(Drain(limiter, Limits.Head("GET /api/v1/users?id=1 HTTP/1.1\r\nHost: x\r\n\r\n")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Head("GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n\r\n")), Is.Zero);
            Assert.That(Drain(limiter, Limits.Head("GET /api/v2 HTTP/1.1\r\nHost: x\r\n\r\n")), Is.EqualTo(1));
            Assert.That(Drain(limiter, Limits.Head("GET /api/search/x HTTP/1.1\r\nHost: x\r\n\r\n")), Is.EqualTo(2));
        });
    }

    [TestCase("/api/v1/users", 1, "/api")]
    [TestCase("/api/v1/users", 2, "/api/v1")]
    [TestCase("/api/v1/users", 5, "/api/v1/users")]
    [TestCase("/api/", 1, "/api")]
    [TestCase("/", 1, "/")]
    public void PathPrefix_CutsAfterTheSegments(string path, int segments, string expected) =>
        Assert.That(System.Text.Encoding.ASCII.GetString(RateLimiter.PathPrefix(System.Text.Encoding.ASCII.GetBytes(path), segments)), Is.EqualTo(expected));

    // Requests allowed from a standing start until the first refusal (at most 100).
    private static int Drain(RateLimiter limiter) => Drain(limiter, Client);

    private static int Drain(RateLimiter limiter, byte[] address)
    {
        int allowed = 0;
        while (allowed < 100 && limiter.CheckAddress(address) == 0)
        {
            allowed++;
        }

        return allowed;
    }

    private static int Drain(RateLimiter limiter, PipeBalancer.Http1.RequestHead head, byte[]? address = null)
    {
        int allowed = 0;
        while (allowed < 100 && limiter.Check(head, address ?? Client) == 0)
        {
            allowed++;
        }

        return allowed;
    }
}
