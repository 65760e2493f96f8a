using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>A graceful stop: nothing that had started fails; nothing new is accepted.</summary>
public sealed class ShutdownTests
{
    [Test]
    public async Task Stop_FinishesRequestsInFlight_WithConnectionClose_ClosesIdleConnections_AndRefusesNewOnes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int held = 0;
        await using var slow = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is { } head)
            {
                if (head.Contains("/slow", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref held);
                    await release.Task;
                }

                await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"u8.ToArray());
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("slow", slow.Port)]);
        var endPoint = balancer.EndPoint;

        using var idle = await RawClient.ConnectAsync(endPoint);
        await idle.SendAsync("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.That((await idle.ReadResponseAsync())!.Status, Is.EqualTo(200));

        var inFlight = new List<RawClient>();
        for (int i = 0; i < 5; i++)
        {
            var client = await RawClient.ConnectAsync(endPoint);
            await client.SendAsync($"GET /slow/{i} HTTP/1.1\r\nHost: x\r\n\r\n");
            inFlight.Add(client);
        }

        await Eventually.Until(() => Volatile.Read(ref held) == 5);
        var stopping = balancer.Host.StopAsync("test");
        using var admin = balancer.CreateAdminClient();
        await Eventually.Until(() => !RawClient.Accepts(endPoint));
        using var ready = await admin.GetAsync("/readyz");
        int idleRead = await idle.Socket.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        release.SetResult();
        var responses = await Task.WhenAll(inFlight.Select(c => c.ReadResponseAsync()));
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "readiness goes first, so load balancers in front stop sending");
            Assert.That(idleRead, Is.Zero, "the idle keep-alive connection was closed");
            Assert.That(responses.Select(r => r?.Status), Is.All.EqualTo(200), "every request in flight finished");
            Assert.That(responses.Select(r => r?.Header("Connection")), Is.All.EqualTo("close"), "and told its client the connection ends");
            Assert.That(responses.Select(r => r?.BodyText), Is.All.EqualTo("done"));
        });

        foreach (var client in inFlight)
        {
            client.Dispose();
        }
    }

    [Test]
    public async Task Stop_AfterTheShutdownTimeout_ClosesWhatIsLeft()
    {
        await using var hung = new RawBackend(async (socket, self) =>
        {
            // Never answers; reads until the balancer gives up on the connection.
            await self.ReadHeadAsync(socket);
            await self.DrainAsync(socket);
        });
        await using var balancer = await TestBalancer.StartAsync([("hung", hung.Port)],
            c => c with { Timeouts = c.Timeouts with { ShutdownTimeoutMs = 300 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
        await Eventually.Until(() => balancer.State.Current.Backends[0].InFlight == 1);

        await balancer.Host.StopAsync("test").WaitAsync(TimeSpan.FromSeconds(20));
        int read;
        try
        {
            read = await client.Socket.ReceiveAsync(new byte[64], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (SocketException)
        {
            read = 0;
        }

        Assert.That(read, Is.Zero, "the connection still waiting after the timeout was closed");
    }

    [Test]
    public async Task Stats_OverTheStop_CountEveryRequestAnswered()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var client = balancer.CreateClient();
        using var admin = balancer.CreateAdminClient();
        int answered = 0;
        var failures = new List<string>();
        using var stopAfter = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            for (int i = 0; i < 20_000 && !stopAfter.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.GetAsync($"/s/{i}");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        answered++;
                    }
                    else
                    {
                        failures.Add(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
                catch (HttpRequestException)
                {
                    // Refused: the listener had stopped accepting; the request never started.
                    break;
                }
            }
        });
        await Eventually.Until(() => Volatile.Read(ref answered) > 200);
        long requestsBefore = balancer.State.Counters.Requests;
        using var statsDuring = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        await balancer.Host.StopAsync("test");
        stopAfter.Cancel();
        await load;
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "no request that reached the balancer failed");
            Assert.That(balancer.State.Counters.Requests, Is.EqualTo(answered), "each request forwarded was answered");
            Assert.That(requestsBefore, Is.LessThanOrEqualTo(answered));
        });
    }
}
