using System.Net;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>The admin read endpoints over real HTTP, against a running balancer with real backends.</summary>
public sealed class AdminStatsTests
{
    [Test]
    public async Task Stats_After1000RequestsOverKnownPaths_CountEachBackendExactlyAsTheRouteCommandPredicts()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var balancer = await TestBalancer.StartAsync(a, b, c);
        var paths = RoutePrediction.Paths("stats", 1000);
        var predicted = await RoutePrediction.PredictAsync([a, b, c], paths);

        using var client = balancer.CreateClient();
        var seen = await RoutePrediction.ObserveAsync(client, paths);
        using var admin = balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var root = stats.RootElement;
        var totals = root.GetProperty("totals");
        var backends = root.GetProperty("backends").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(predicted), "every request reached the backend `pipebalancer route` names");
            foreach (string id in new[] { "a", "b", "c" })
            {
                long expected = predicted.Values.Count(v => v == id);
                var backend = backends[id];
                Assert.That(backend.GetProperty("requests").GetInt64(), Is.EqualTo(expected), $"{id} requests");
                Assert.That(backend.GetProperty("responses").GetProperty("2xx").GetInt64(), Is.EqualTo(expected), $"{id} 2xx");
                Assert.That(backend.GetProperty("latencyMs").GetProperty("samples").GetInt64(), Is.EqualTo(expected), $"{id} latency samples");
                Assert.That(backend.GetProperty("latencyMs").GetProperty("p99").GetDouble(), Is.GreaterThan(0));
                Assert.That(backend.GetProperty("bytesOut").GetInt64(), Is.GreaterThan(expected * 30), $"{id}: at least a request line and Host per request");
                Assert.That(backend.GetProperty("bytesIn").GetInt64(), Is.GreaterThan(expected * 30));
                Assert.That(backend.GetProperty("pool").GetProperty("idle").GetInt32(), Is.EqualTo(1), "one keep-alive client: one pooled connection");
                Assert.That(backend.GetProperty("pool").GetProperty("active").GetInt32(), Is.Zero);
                Assert.That(backend.GetProperty("healthChecks").GetProperty("count").GetInt64(), Is.Zero, "checks are off and never counted as requests");
                Assert.That(backend.GetProperty("keySpaceShare").GetDouble(), Is.InRange(0.2, 0.45));
            }

            Assert.That(totals.GetProperty("requests").GetInt64(), Is.EqualTo(1000));
            Assert.That(totals.GetProperty("responses").GetProperty("2xx").GetInt64(), Is.EqualTo(1000));
            Assert.That(totals.GetProperty("bytesOut").GetInt64(), Is.EqualTo(backends.Values.Sum(x => x.GetProperty("bytesOut").GetInt64())));
            Assert.That(root.GetProperty("generation").GetInt64(), Is.EqualTo(1));
            Assert.That(root.GetProperty("routing").GetProperty("algorithm").GetString(), Is.EqualTo("ring"));
            Assert.That(root.GetProperty("routing").GetProperty("points").GetInt32(), Is.EqualTo(480));
            Assert.That(root.GetProperty("version").GetString(), Is.Not.Empty);
            Assert.That(root.GetProperty("uptimeSeconds").GetDouble(), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task Stats_CountClientErrorsByReason_AndBalancerErrorsByKind()
    {
        await using var live = await TestBackend.StartAsync("live");
        int deadPort = RawBackend.UnusedPort();
        await using var balancer = await TestBalancer.StartAsync([("dead", deadPort), ("live", live.Port)],
            c => c with { Retries = c.Retries with { Max = 0 } });
        var router = balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(2);
        string deadPath = Enumerable.Range(0, 100).Select(i => $"/e/{i}").First(p => router.Select(System.Text.Encoding.ASCII.GetBytes(p), view) == 0);

        foreach (string bad in new[] { "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", "GET / HTTP/2.0\r\nHost: x\r\n\r\n" })
        {
            using var raw = await RawClient.ConnectAsync(balancer.EndPoint);
            await raw.SendAsync(bad);
            await raw.ReadResponseAsync();
        }

        using var client = balancer.CreateClient();
        using (var viaDead = await client.GetAsync(deadPath))
        {
            // A connect failure walks on to the next server: the client gets its answer.
            Assert.That(viaDead.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using var admin = balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var totals = stats.RootElement.GetProperty("totals");
        var dead = stats.RootElement.GetProperty("backends").EnumerateArray().Single(e => e.GetProperty("id").GetString() == "dead");
        Assert.Multiple(() =>
        {
            Assert.That(totals.GetProperty("clientErrors").GetProperty("invalidTarget").GetInt64(), Is.EqualTo(1));
            Assert.That(totals.GetProperty("clientErrors").GetProperty("whitespaceBeforeColon").GetInt64() +
                totals.GetProperty("clientErrors").GetProperty("invalidFieldName").GetInt64(), Is.EqualTo(1));
            Assert.That(totals.GetProperty("clientErrors").GetProperty("unsupportedVersion").GetInt64(), Is.EqualTo(1));
            Assert.That(totals.GetProperty("responses").GetProperty("4xx").GetInt64(), Is.EqualTo(2));
            Assert.That(totals.GetProperty("responses").GetProperty("5xx").GetInt64(), Is.EqualTo(1), "505 is a 5xx the balancer made");
            Assert.That(totals.GetProperty("responses").GetProperty("2xx").GetInt64(), Is.EqualTo(1));
            Assert.That(totals.GetProperty("backendErrors").GetProperty("connect").GetInt64(), Is.EqualTo(1));
            Assert.That(dead.GetProperty("errorsByKind").GetProperty("connect").GetInt64(), Is.EqualTo(1));
            Assert.That(dead.GetProperty("errors").GetInt64(), Is.EqualTo(1));
            Assert.That(dead.GetProperty("requests").GetInt64(), Is.Zero, "nothing was sent to it");
        });
    }

    [Test]
    public async Task Servers_ListAndOne_AndAnUnknownIdIsAProblem()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        using var admin = balancer.CreateAdminClient();

        using var list = JsonDocument.Parse(await admin.GetStringAsync("/api/servers"));
        using var one = JsonDocument.Parse(await admin.GetStringAsync("/api/servers/b"));
        using var missing = await admin.GetAsync("/api/servers/zz");
        using var problem = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        using var nowhere = await admin.GetAsync("/no/such/thing");
        Assert.Multiple(() =>
        {
            Assert.That(list.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(one.RootElement.GetProperty("address").GetString(), Is.EqualTo($"127.0.0.1:{b.Port}"));
            Assert.That(one.RootElement.GetProperty("health").GetString(), Is.EqualTo("unknown"), "checks are off in this test");
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(missing.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(404));
            Assert.That(problem.RootElement.GetProperty("detail").GetString(), Is.EqualTo("no server 'zz'"));
            Assert.That(nowhere.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(nowhere.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        });
    }

    [Test]
    public async Task Readyz_FlipsWhenEveryBackendDies_AndBackWhenOneReturns()
    {
        var a = await TestBackend.StartAsync("a");
        int port = a.Port;
        await using var balancer = await TestBalancer.StartAsync([("a", port)],
            c => c with { Health = c.Health with { Enabled = true, IntervalMs = 100, TimeoutMs = 500, Rise = 1, Fall = 1, MaxBackoffMs = 200 } });
        using var admin = balancer.CreateAdminClient();
        await EventuallyStatus(admin, "/readyz", HttpStatusCode.OK);
        using (var healthz = await admin.GetAsync("/healthz"))
        {
            Assert.That(healthz.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using (var proxied = balancer.CreateClient())
        {
            (await proxied.GetAsync("/pooled")).EnsureSuccessStatusCode();
        }

        await Eventually.Until(() => balancer.State.Current.Backends[0].Pool.IdleCount == 1);
        await a.DisposeAsync();
        await EventuallyStatus(admin, "/readyz", HttpStatusCode.ServiceUnavailable);
        using (var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/servers/a")))
        {
            Assert.That(stats.RootElement.GetProperty("health").GetString(), Is.EqualTo("unhealthy"));
            Assert.That(stats.RootElement.GetProperty("eligible").GetBoolean(), Is.False);
            Assert.That(stats.RootElement.GetProperty("healthChecks").GetProperty("failed").GetInt64(), Is.GreaterThan(0));
            Assert.That(stats.RootElement.GetProperty("healthChecks").GetProperty("lastPassed").GetBoolean(), Is.False);
            Assert.That(stats.RootElement.GetProperty("pool").GetProperty("idle").GetInt32(), Is.Zero, "an unhealthy backend's idle connections are closed");
        }

        using (var healthz = await admin.GetAsync("/healthz"))
        {
            Assert.That(healthz.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the process is still alive");
        }

        await using var back = await TestBackend.StartAsync("a", port);
        await EventuallyStatus(admin, "/readyz", HttpStatusCode.OK);
    }

    [Test]
    public async Task Readyz_IsNotReady_WhenEveryBackendIsDrained()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)], c => c with { Backends = [c.Backends[0] with { Drain = true }] });
        using var admin = balancer.CreateAdminClient();
        using var ready = await admin.GetAsync("/readyz");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "nothing can take a request");
    }

    [Test]
    public async Task Probes_AnswerHead_AndAWrongMethodIs405()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var admin = balancer.CreateAdminClient();
        using var head = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));
        using var wrong = await admin.DeleteAsync("/api/stats");
        Assert.Multiple(() =>
        {
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        });
    }

    [Test]
    public async Task Stats_ShowTheCircuitOpening_OnABackendAnswering500()
    {
        await using var failing = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                await socket.SendAsync("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("bad", failing.Port)],
            c => c with { Circuit = c.Circuit with { Count5xx = true, ConsecutiveFailures = 3, CooldownMs = 60_000 }, Retries = c.Retries with { Max = 0 } });
        using var client = balancer.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync("/x");
            Assert.That((int)response.StatusCode, Is.EqualTo(500));
        }

        using (var refused = await client.GetAsync("/x"))
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "open circuit: nothing eligible");
        }

        using var admin = balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var bad = stats.RootElement.GetProperty("backends")[0];
        Assert.Multiple(() =>
        {
            Assert.That(bad.GetProperty("circuit").GetString(), Is.EqualTo("open"));
            Assert.That(bad.GetProperty("responses").GetProperty("5xx").GetInt64(), Is.EqualTo(3));
            Assert.That(bad.GetProperty("errorsByKind").GetProperty("status5xx").GetInt64(), Is.EqualTo(3));
            Assert.That(stats.RootElement.GetProperty("totals").GetProperty("backendErrors").GetProperty("unavailable").GetInt64(), Is.EqualTo(1));
            Assert.That(stats.RootElement.GetProperty("totals").GetProperty("responses").GetProperty("5xx").GetInt64(), Is.EqualTo(4));
        });
    }

    internal static async Task EventuallyStatus(HttpClient client, string path, HttpStatusCode status, int seconds = 15)
    {
        HttpStatusCode last = 0;
        for (int waited = 0; waited < seconds * 1000; waited += 50)
        {
            using var response = await client.GetAsync(path);
            last = response.StatusCode;
            if (last == status)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{path} answered {(int)last}, not {(int)status}, within {seconds} s");
    }
}
