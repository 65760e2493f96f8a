using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

public sealed class BackendFailureTests
{
    private static readonly byte[] OkResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [Test]
    public async Task RefusedConnection_Gives502()
    {
        int closedPort = RawBackend.UnusedPort();
        await using var balancer = await TestBalancer.StartAsync([("gone", closedPort)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response!.Status, Is.EqualTo(502));
            Assert.That(response.Header("Content-Type"), Does.StartWith("text/plain"));
        });
    }

    [Test]
    public async Task RefusedConnection_IsRetriedOnTheNextServerClockwise_ForAnyMethod()
    {
        await using var live = await TestBackend.StartAsync("live");
        await using var balancer = await TestBalancer.StartAsync([("dead", RawBackend.UnusedPort()), ("live", live.Port)]);
        using var client = balancer.CreateClient();
        for (int i = 0; i < 20; i++)
        {
            using var response = await client.PostAsync($"/p/{i}", new StringContent("x"));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"/p/{i}");
        }

        Assert.That(live.Requests, Is.EqualTo(20));
    }

    [Test]
    public async Task NoEligibleBackend_Gives503WithRetryAfter()
    {
        await using var backend = await TestBackend.StartAsync("s1");
        await using var balancer = await TestBalancer.StartAsync(backend);
        balancer.State.Current.Backends[0].Eligible = false;
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response!.Status, Is.EqualTo(503));
            Assert.That(response.Header("Retry-After"), Is.EqualTo("1"));
            Assert.That(backend.Requests, Is.Zero);
        });
    }

    [Test]
    public async Task GarbageResponse_Gives502()
    {
        await using var backend = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await socket.SendAsync("NOT HTTP AT ALL\r\n\r\n"u8.ToArray());
        });
        await using var balancer = await TestBalancer.StartAsync([("garbage", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.That((await client.ReadResponseAsync())!.Status, Is.EqualTo(502));
    }

    [Test]
    public async Task HangingBackend_Gives504AfterTheResponseTimeout()
    {
        await using var backend = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await Task.Delay(Timeout.Infinite, self.Stopping);
        });
        await using var balancer = await TestBalancer.StartAsync([("hang", backend.Port)],
            c => c with { Timeouts = c.Timeouts with { ResponseHeadMs = 300 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.That((await client.ReadResponseAsync(timeout: TimeSpan.FromSeconds(10)))!.Status, Is.EqualTo(504));
    }

    [Test]
    public async Task ResetMidResponse_AbortsTheClient_NeverATruncatedResponseFollowedByAnother()
    {
        await using var backend = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly-a-part"u8.ToArray());
            await Task.Delay(100);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        await using var balancer = await TestBalancer.StartAsync([("reset", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var exception = Assert.CatchAsync(async () => await client.ReadResponseAsync());
        Assert.That(exception, Is.InstanceOf<IOException>().Or.InstanceOf<SocketException>());
    }

    [Test]
    public async Task StalePooledConnection_IsRetriedOnAFreshOne_ForGet()
    {
        // The backend answers the first request on each connection, then closes the connection
        // when the next request arrives, as a server whose idle timeout just fired would.
        await using var backend = StaleAfterFirst();
        await using var balancer = await TestBalancer.StartAsync([("stale", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await client.ReadResponseAsync();
        await client.SendAsync("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
        var second = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(first!.Status, Is.EqualTo(200));
            Assert.That(second!.Status, Is.EqualTo(200), "retried on a fresh connection");
            Assert.That(backend.Accepted, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task StalePooledConnection_IsNotRetried_ForPost()
    {
        await using var backend = StaleAfterFirst();
        await using var balancer = await TestBalancer.StartAsync([("stale", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
        await client.ReadResponseAsync();
        await client.SendAsync("POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
        var second = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(second!.Status, Is.EqualTo(502), "a POST may have been acted on: not repeated");
            Assert.That(backend.Accepted, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task BackendClosingAnIdleConnection_IsNoticedBeforeReuse()
    {
        await using var backend = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await socket.SendAsync(OkResponse);
            // Close right after answering: the pooled connection is dead before its next use.
        });
        await using var balancer = await TestBalancer.StartAsync([("closer", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync($"POST /{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
            var response = await client.ReadResponseAsync();
            Assert.That(response!.Status, Is.EqualTo(200), $"request {i}");
            await Task.Delay(50);
        }
    }

    [Test]
    public async Task IdlePooledConnections_AreClosedAfterTheIdleTimeout()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await socket.SendAsync(OkResponse);
            // Keep the connection open until the balancer closes it.
            await self.DrainAsync(socket);
            closed.TrySetResult();
        });
        await using var balancer = await TestBalancer.StartAsync([("idle", backend.Port)],
            c => c with { Timeouts = c.Timeouts with { BackendIdleMs = 200 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.That((await client.ReadResponseAsync())!.Status, Is.EqualTo(200));
        // Returned to the pool just after the response is flushed; kept until the idle timeout.
        var pool = balancer.State.Current.Backends[0].Pool;
        for (int i = 0; i < 100 && pool.IdleCount == 0 && !closed.Task.IsCompleted; i++)
        {
            await Task.Delay(5);
        }

        Assert.That(pool.IdleCount == 1 || closed.Task.IsCompleted, Is.True, "kept for reuse");
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(balancer.State.Current.Backends[0].Pool.IdleCount, Is.Zero);
    }

    [Test]
    public async Task ConnectTimeout_MovesOnToTheNextServer()
    {
        // A listener that never accepts, with its accept queue filled: further SYNs go
        // unanswered, so a connect hangs until the balancer's connect timeout.
        using var silent = new Socket(SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(0);
        int silentPort = ((IPEndPoint)silent.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(filler);
            _ = filler.ConnectAsync(IPAddress.Loopback, silentPort);
        }

        await Task.Delay(200);
        try
        {
            await using var live = await TestBackend.StartAsync("live");
            await using var balancer = await TestBalancer.StartAsync([("silent", silentPort), ("live", live.Port)],
                c => c with { Timeouts = c.Timeouts with { ConnectMs = 300 } });
            using var client = balancer.CreateClient();
            var router = balancer.State.Current.Backends.Router;
            var view = new PipeBalancer.Routing.AllEligibleView(2);
            string path = Enumerable.Range(0, 100).Select(i => $"/k/{i}").First(p => router.Select(Encoding.ASCII.GetBytes(p), view) == 0);
            using var response = await client.GetAsync(path);
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the silent server's key went to the next server");
                Assert.That(response.Headers.GetValues("X-Backend").Single(), Is.EqualTo("live"));
                Assert.That(balancer.State.Current.Backends[0].Failures, Is.EqualTo(1));
            });
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    private static RawBackend StaleAfterFirst() => new(async (socket, self) =>
    {
        if (await self.ReadHeadAsync(socket) is null)
        {
            return;
        }

        await socket.SendAsync(OkResponse);
        await self.ReadHeadAsync(socket);
        socket.Close();
    });

}
