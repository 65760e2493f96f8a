using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

public sealed class DrainTests
{
    [Test]
    public async Task Draining_LetsTheRequestInFlightFinish_ClosesIdleConnections_AndSendsNothingNew()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int requests = 0;
        await using var slow = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                if (Interlocked.Increment(ref requests) == 2)
                {
                    arrived.TrySetResult();
                    await release.Task;
                }

                await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"u8.ToArray());
            }
        });
        await using var other = await TestBackend.StartAsync("other");
        await using var balancer = await TestBalancer.StartAsync([("slow", slow.Port), ("other", other.Port)]);
        var backend = balancer.State.Current.Backends[0];
        var router = balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(2);
        string path = Enumerable.Range(0, 100).Select(i => $"/d/{i}").First(p => router.Select(System.Text.Encoding.ASCII.GetBytes(p), view) == 0);

        using var warm = await RawClient.ConnectAsync(balancer.EndPoint);
        await warm.SendAsync($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        await warm.ReadResponseAsync();

        // The connection goes back to the pool just after the response is flushed.
        await Eventually.Until(() => backend.Pool.IdleCount == 1);

        using var inFlight = await RawClient.ConnectAsync(balancer.EndPoint);
        await inFlight.SendAsync($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        backend.Draining = true;
        using var client = balancer.CreateClient();
        using var during = await client.GetAsync(path);
        release.SetResult();
        var finished = await inFlight.ReadResponseAsync();
        await Eventually.Until(() => backend.InFlight == 0);
        Assert.Multiple(() =>
        {
            Assert.That(during.Headers.GetValues("X-Backend").Single(), Is.EqualTo("other"), "nothing new goes to a draining backend");
            Assert.That(finished!.BodyText, Is.EqualTo("slow"), "the request in flight finished");
            Assert.That(backend.Pool.IdleCount, Is.Zero, "idle and finished connections are closed");
        });
    }

}
