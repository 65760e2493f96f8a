using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PipeBalancer.Configuration;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.FunctionalTests.RateLimiting;

/// <summary>Rate limits over real sockets: what a limited client gets, what the backend sees, and what stats and metrics say.</summary>
public sealed class RateLimitTests
{
    // One token every 1,000 s: within a test, a bucket never refills.
    private const double NoRefill = 0.001;

    private static Func<BalancerConfig, BalancerConfig> Limit(string key, int burst, IReadOnlyList<string>? allow = null) =>
        c => c with
        {
            RateLimits =
            [
                new RateLimitConfig
                {
                    Name = "per-key",
                    Listeners = ["web"],
                    Key = LimitKey.TryParse(key, out var parsed, out _) ? parsed! : throw new ArgumentException(key),
                    RatePerSecond = NoRefill,
                    Burst = burst,
                    Allow = allow ?? [],
                },
            ],
        };

    [Test]
    public async Task AfterTheBurst_A429WithRetryAfter_NeverReachesTheBackend_AndOtherKeysGoOn()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Limit("header:X-Api-Key", burst: 2));
        using var client = balancer.CreateClient();

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (int i = 0; i < 4; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/k1/{i}") { Headers = { { "X-Api-Key", "k1" } } };
            var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited ??= response;
            }
        }

        using var other = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/k2") { Headers = { { "X-Api-Key", "k2" } } });
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }));
            Assert.That(limited!.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1000)), "seconds until the key has a token");
            Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another key has its own bucket");
            Assert.That(backend.Paths, Is.EquivalentTo(new[] { "/k1/0", "/k1/1", "/k2" }), "limited requests never reached the backend");
        });
    }

    [Test]
    public async Task A429_KeepsTheConnection_AndRequestsBehindItOnTheSameConnectionAreAnswered()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Limit("path-prefix", burst: 1));
        using var raw = await RawClient.ConnectAsync(balancer.EndPoint);

        // Pipelined: the second /limited is refused, /other behind it still goes through.
        await raw.SendAsync("GET /limited/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /limited/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await raw.ReadResponseAsync();
        var second = await raw.ReadResponseAsync();
        var third = await raw.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(first!.Status, Is.EqualTo(200));
            Assert.That(second!.Status, Is.EqualTo(429));
            Assert.That(second.Header("Retry-After"), Is.EqualTo("1000"));
            Assert.That(second.Header("Connection"), Is.Null, "kept alive");
            Assert.That(second.BodyText, Does.StartWith("429 Too Many Requests"));
            Assert.That(third!.Status, Is.EqualTo(200));
            Assert.That(backend.Paths, Is.EquivalentTo(new[] { "/limited/1", "/other" }));
        });
    }

    [Test]
    public async Task ALimitedRequestWithABody_IsAnsweredAndTheConnectionClosed()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Limit("client-ip", burst: 1));
        using var raw = await RawClient.ConnectAsync(balancer.EndPoint);
        await raw.SendAsync("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await raw.ReadResponseAsync();
        await raw.SendAsync("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        var second = await raw.ReadResponseAsync();
        bool closed = await raw.IsClosedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(first!.Status, Is.EqualTo(200));
            Assert.That(second!.Status, Is.EqualTo(429));
            Assert.That(second.Header("Connection"), Is.EqualTo("close"));
            Assert.That(closed, Is.True);
            Assert.That(backend.Paths, Is.EquivalentTo(new[] { "/a" }));
        });
    }

    [Test]
    public async Task AllowListedClients_AreNeverLimited()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Limit("client-ip", burst: 1, allow: ["127.0.0.0/8"]));
        using var client = balancer.CreateClient();
        for (int i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync($"/{i}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
    }

    [Test]
    public async Task StatsAndMetrics_CountAllowedAndLimitedRequests()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Limit("client-ip", burst: 3));
        using var client = balancer.CreateClient();
        for (int i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync($"/{i}");
        }

        using var admin = balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var limiter = stats.RootElement.GetProperty("rateLimits")[0];
        string metrics = await admin.GetStringAsync("/metrics");
        Assert.Multiple(() =>
        {
            Assert.That(limiter.GetProperty("name").GetString(), Is.EqualTo("per-key"));
            Assert.That(limiter.GetProperty("key").GetString(), Is.EqualTo("client-ip"));
            Assert.That(limiter.GetProperty("allowed").GetInt64(), Is.EqualTo(3));
            Assert.That(limiter.GetProperty("limited").GetInt64(), Is.EqualTo(2));
            Assert.That(limiter.GetProperty("entries").GetInt64(), Is.EqualTo(1));
            Assert.That(limiter.GetProperty("capacity").GetInt64(), Is.EqualTo(RateLimitConfig.DefaultCapacity));
            Assert.That(limiter.GetProperty("evictions").GetInt64(), Is.Zero);
            Assert.That(MetricValue(metrics, "pipebalancer_ratelimit_requests_total", "result=\"allowed\""), Is.EqualTo(3));
            Assert.That(MetricValue(metrics, "pipebalancer_ratelimit_requests_total", "result=\"limited\""), Is.EqualTo(2));
            Assert.That(MetricValue(metrics, "pipebalancer_ratelimit_entries", "limiter=\"per-key\""), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task ATcpListener_ClosesAConnectionOverTheLimitAtAccept()
    {
        int accepted = 0;
        await using var echo = new RawBackend(async (socket, self) =>
        {
            Interlocked.Increment(ref accepted);
            var buffer = new byte[1024];
            int read;
            while ((read = await self.ReceiveAsync(socket, buffer)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, read));
            }

            socket.Shutdown(SocketShutdown.Send);
        });
        await using var balancer = await TestBalancer.StartAsync([("echo", echo.Port)], Limit("client-ip", burst: 1), mode: ListenerMode.Tcp);

        using var first = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(balancer.EndPoint);
        await first.SendAsync("ping"u8.ToArray());
        var buffer = new byte[16];
        int got = await first.ReceiveAsync(buffer);

        using var second = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await second.ConnectAsync(balancer.EndPoint);
        int secondRead;
        try
        {
            secondRead = await second.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            secondRead = 0;
        }

        Assert.Multiple(() =>
        {
            Assert.That(got, Is.EqualTo(4), "the first connection is spliced");
            Assert.That(secondRead, Is.Zero, "the second is closed without a byte");
            Assert.That(Volatile.Read(ref accepted), Is.EqualTo(1), "no backend connection for the limited one");
            Assert.That(balancer.State.Current.RateLimits.All[0].Limited, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Reload_KeepsAnUnchangedLimitersBuckets_AndAChangedOneStartsFull()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pb-ratelimit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            await using var backend = await TestBackend.StartAsync("a");
            string path = Path.Combine(dir, "lb.json");
            string File(int burst, int keepAliveMs) => string.Create(CultureInfo.InvariantCulture, $$"""
                {
                  "listeners": [ { "name": "web", "address": "127.0.0.1:0" } ],
                  "admin": { "address": "127.0.0.1:0" },
                  "health": { "enabled": false },
                  "timeouts": { "keepAliveMs": {{keepAliveMs}} },
                  "rateLimits": [ { "name": "per-client", "listeners": [ "web" ], "ratePerSecond": 0.001, "burst": {{burst}} } ],
                  "backends": [ { "id": "a", "address": "127.0.0.1:{{backend.Port}}" } ]
                }
                """);
            await System.IO.File.WriteAllTextAsync(path, File(burst: 1, keepAliveMs: 60_000));
            await using var balancer = await TestBalancer.StartFromFileAsync(path);
            using var client = balancer.CreateClient();
            var before = new[] { (await client.GetAsync("/1")).StatusCode, (await client.GetAsync("/2")).StatusCode };

            // Another section changes: the limiter is the same, its bucket stays empty.
            await System.IO.File.WriteAllTextAsync(path, File(burst: 1, keepAliveMs: 61_000));
            var kept = await balancer.Host.ReloadAsync("test");
            var afterKept = (await client.GetAsync("/3")).StatusCode;

            // The limiter changes: new buckets, full.
            await System.IO.File.WriteAllTextAsync(path, File(burst: 2, keepAliveMs: 61_000));
            var changed = await balancer.Host.ReloadAsync("test");
            var afterChanged = new[] { (await client.GetAsync("/4")).StatusCode, (await client.GetAsync("/5")).StatusCode, (await client.GetAsync("/6")).StatusCode };
            Assert.Multiple(() =>
            {
                Assert.That(kept.Errors, Is.Empty);
                Assert.That(changed.Errors, Is.Empty);
                Assert.That(before, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
                Assert.That(afterKept, Is.EqualTo(HttpStatusCode.TooManyRequests), "an unchanged limiter keeps its buckets");
                Assert.That(afterChanged, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // The value of the first series of `name` whose labels contain `label`.
    private static double MetricValue(string metrics, string name, string label)
    {
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(label, StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                return double.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return double.NaN;
    }
}
