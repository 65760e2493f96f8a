using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Admin;

namespace PipeBalancer.Tests.Admin;

/// <summary>The admin app's per-address limit, on a fake clock.</summary>
public sealed class AdminRateLimitTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.10");
    private readonly FakeTimeProvider _time = new();

    [Test]
    public void ALimitOfN_AllowsNAtOnce_ThenRefusesUntilTokensRefill()
    {
        var limit = new AdminRateLimit(5, _time);
        var first = Enumerable.Range(0, 6).Select(_ => limit.TryTake(Client)).ToArray();

        // 5 a second: one token every 200 ms.
        _time.Advance(TimeSpan.FromMilliseconds(200));
        bool afterOneInterval = limit.TryTake(Client);
        bool thenAgain = limit.TryTake(Client);

        // A long pause fills the bucket to 5, not beyond.
        _time.Advance(TimeSpan.FromHours(1));
        var afterPause = Enumerable.Range(0, 6).Count(_ => limit.TryTake(Client));
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new[] { true, true, true, true, true, false }));
            Assert.That(afterOneInterval, Is.True);
            Assert.That(thenAgain, Is.False);
            Assert.That(afterPause, Is.EqualTo(5));
        });
    }

    [Test]
    public void Addresses_AreCountedApart_AndAMappedIpv4IsItsIpv4()
    {
        var limit = new AdminRateLimit(1, _time);
        Assert.Multiple(() =>
        {
            Assert.That(limit.TryTake(Client), Is.True);
            Assert.That(limit.TryTake(Client.MapToIPv6()), Is.False, "the same client over IPv6 sockets");
            Assert.That(limit.TryTake(IPAddress.Parse("192.0.2.11")), Is.True);
            Assert.That(limit.TryTake(IPAddress.IPv6Loopback), Is.True);
            Assert.That(limit.TryTake(null), Is.True);
        });
    }

    [Test]
    public async Task Middleware_Answers429WithRetryAfter_ButNeverToProbes()
    {
        var limit = new AdminRateLimit(1, _time);
        int passed = 0;
        var app = limit.Wrap(_ =>
        {
            passed++;
            return Task.CompletedTask;
        });

        var statuses = new List<int>();
        string? retryAfter = null;
        foreach (var path in new[] { "/api/stats", "/api/stats", "/healthz", "/readyz" })
        {
            var context = new DefaultHttpContext();
            context.Request.Path = path;
            context.Connection.RemoteIpAddress = Client;
            context.Response.Body = new MemoryStream();
            await app(context);
            statuses.Add(context.Response.StatusCode);
            retryAfter ??= context.Response.StatusCode == 429 ? context.Response.Headers.RetryAfter.ToString() : null;
        }

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo(new[] { 200, 429, 200, 200 }));
            Assert.That(passed, Is.EqualTo(3));
            Assert.That(retryAfter, Is.EqualTo("1"));
        });
    }
}
