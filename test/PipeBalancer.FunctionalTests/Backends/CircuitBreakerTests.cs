using System.Net;
using PipeBalancer.Backends;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

public sealed class CircuitBreakerTests
{
    [Test]
    public async Task BackendAnswering500_OpensItsCircuit_WhenFiveHundredsCount()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 3, Count5xx = true, CooldownMs = 60_000 } });
        var backends = balancer.State.Current.Backends;
        int owner = backends.Router.Select("/status/500"u8, new PipeBalancer.Routing.AllEligibleView(2));
        using var client = balancer.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync("/status/500");
            statuses.Add(response.StatusCode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.InternalServerError), "each 500 is relayed as it is");
            Assert.That(backends[owner].Circuit.State, Is.EqualTo(CircuitState.Open));
            Assert.That(backends[owner].Eligible, Is.False);
            Assert.That(backends[1 - owner].Circuit.State, Is.EqualTo(CircuitState.Closed));
        });

        using var after = await client.GetAsync("/status/500");
        Assert.That(after.Headers.GetValues("X-Backend").Single(), Is.EqualTo(backends[1 - owner].Config.Id), "the open circuit's keys went to the other backend");
    }

    [Test]
    public async Task HangingBackend_TripsTheTimeout_ThenTheCircuit()
    {
        await using var hanging = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                // Never answers.
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("hang", hanging.Port)],
            c => c with
            {
                Timeouts = c.Timeouts with { ResponseHeadMs = 200 },
                Circuit = c.Circuit with { ConsecutiveFailures = 2, CooldownMs = 60_000 },
                Retries = c.Retries with { Max = 0 },
            });
        using var client = balancer.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync($"/h/{i}");
            statuses.Add(response.StatusCode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.GatewayTimeout, HttpStatusCode.GatewayTimeout, HttpStatusCode.ServiceUnavailable }),
                "two timeouts open the circuit; then no backend is eligible");
            Assert.That(balancer.State.Current.Backends[0].Circuit.State, Is.EqualTo(CircuitState.Open));
        });
    }

    [Test]
    public async Task ClientsThatAbortTheirOwnRequests_AreNotCountedAgainstTheBackend()
    {
        await using var backend = await TestBackend.StartAsync("big");
        await using var balancer = await TestBalancer.StartAsync([("big", backend.Port)], c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 1 } });
        for (int i = 0; i < 3; i++)
        {
            using var client = await RawClient.ConnectAsync(balancer.EndPoint);
            await client.SendAsync($"GET /big/{50 * 1024 * 1024} HTTP/1.1\r\nHost: x\r\n\r\n");
            var buffer = new byte[4096];
            await client.Socket.ReceiveAsync(buffer);
            client.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            client.Socket.Close();
        }

        var state = balancer.State.Current.Backends[0];
        await Eventually.Until(() => state.InFlight == 0);
        Assert.Multiple(() =>
        {
            Assert.That(state.Failures, Is.Zero);
            Assert.That(state.Circuit.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(state.Eligible, Is.True);
        });
    }

    [Test]
    public async Task FiveHundreds_DoNotCount_ByDefault()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)], c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 2 } });
        using var client = balancer.CreateClient();
        for (int i = 0; i < 4; i++)
        {
            using var response = await client.GetAsync("/status/503");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }

        Assert.That(balancer.State.Current.Backends[0].Circuit.State, Is.EqualTo(CircuitState.Closed));
    }

    [Test]
    public async Task RefusingBackend_OpensItsCircuit_AndIsNoLongerTried()
    {
        int dead;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            dead = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var live = await TestBackend.StartAsync("live");
        await using var balancer = await TestBalancer.StartAsync([("dead", dead), ("live", live.Port)],
            c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 2, CooldownMs = 60_000 } });
        using var client = balancer.CreateClient();
        for (int i = 0; i < 30; i++)
        {
            using var response = await client.GetAsync($"/k/{i}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var deadBackend = balancer.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(deadBackend.Circuit.State, Is.EqualTo(CircuitState.Open));
            Assert.That(deadBackend.Failures, Is.EqualTo(2), "after the circuit opened, the dead backend was not tried again");
        });
    }
}
