using PipeBalancer.Backends;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

public sealed class HealthCheckTests
{
    [Test]
    public async Task FlappingBackend_IsDampedByRiseAndFall()
    {
        // Health answers alternate ok, failing, ok, failing...: never `fall` (3) failures in a row.
        int checks = 0;
        await using var flapping = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                bool ok = Interlocked.Increment(ref checks) % 2 == 1;
                await socket.SendAsync(ok
                    ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray()
                    : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"u8.ToArray());
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("flap", flapping.Port)],
            c => c with { Health = c.Health with { Enabled = true, IntervalMs = 50, TimeoutMs = 200, Rise = 2, Fall = 3, Jitter = 0 } });
        var backend = balancer.State.Current.Backends[0];
        await Eventually.Until(() => Volatile.Read(ref checks) >= 20);
        Assert.Multiple(() =>
        {
            Assert.That(backend.Health, Is.Not.EqualTo(HealthStatus.Unhealthy), "alternating results never reach fall");
            Assert.That(backend.Eligible, Is.True);
        });
    }

    [Test]
    public async Task PerBackendHealthPath_IsTheOneChecked()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)], c =>
        {
            var health = c.Health with { Enabled = true, IntervalMs = 100, TimeoutMs = 200, Rise = 1, Fall = 1, Jitter = 0, MaxBackoffMs = 100 };
            return c with
            {
                Health = health,
                Backends = [c.Backends[0] with { Health = health with { Path = "/status/503" } }, c.Backends[1]],
            };
        });
        var set = balancer.State.Current.Backends;
        await Eventually.Until(() => set[0].Health == HealthStatus.Unhealthy && set[1].Health == HealthStatus.Healthy);
        Assert.Multiple(() =>
        {
            Assert.That(a.Paths, Does.Contain("/status/503"));
            Assert.That(b.Paths, Does.Contain("/health"));
            Assert.That(b.Paths, Does.Not.Contain("/status/503"));
        });
    }
}
