using System.Net;
using System.Text;
using System.Text.Json;
using PipeBalancer.Backends;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>A server removed and added back through the admin API.</summary>
public sealed class ServerAddedBackTests
{
    [Test]
    public async Task AServerAddedBack_IsCheckedAgain_AndItsCountersGoOn()
    {
        int sick = 0;
        await using var a = await TestBackend.StartAsync("a");
        await using var s2 = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                await socket.SendAsync(Volatile.Read(ref sick) == 0
                    ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray()
                    : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nsick"u8.ToArray());
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("s2", s2.Port)],
            c => c with { Health = c.Health with { Enabled = true, IntervalMs = 300, TimeoutMs = 2000, Rise = 1, Fall = 3, Jitter = 0, MaxBackoffMs = 300 } });
        var backend = balancer.State.Current.Backends.Find("s2")!;
        await Eventually.Until(() => backend.Health == HealthStatus.Healthy);
        long checksBefore = backend.Stats.Checks;

        using var admin = balancer.CreateAdminClient();
        using var removed = await admin.DeleteAsync("/api/servers/s2");
        // The address now answers as another machine would: one that fails its checks.
        Volatile.Write(ref sick, 1);
        using var added = await admin.PostAsync("/api/servers", Json($$"""{ "id": "s2", "address": "127.0.0.1:{{s2.Port}}" }"""));
        using var body = JsonDocument.Parse(await added.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(body.RootElement.GetProperty("health").GetString(), Is.Not.EqualTo("healthy"), "health is checked again, not taken from before");
            Assert.That(body.RootElement.GetProperty("healthChecks").GetProperty("count").GetInt64(), Is.GreaterThanOrEqualTo(checksBefore), "counters never go down");
        });

        var again = balancer.State.Current.Backends.Find("s2")!;
        await Eventually.Until(() => again.Health == HealthStatus.Unhealthy);
        Assert.That(again.Eligible, Is.False);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
