using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.Backends;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// Slow, stalled and vanished clients on both sides of an exchange: their own timeouts end
/// them, the backend connection is closed, and nothing is charged to the backend.
/// </summary>
[CancelAfter(60_000)]
public sealed class ClientTimeoutTests
{
    [Test]
    public async Task StalledUploads_Get408_OpenNoCircuit_AndOtherClientsKeepGetting200()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");

        // The reported case: responseHeadMs 4000 and the body timeout at its default (60 s), so
        // the response head clock runs out first while the backend waits for the body.
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Timeouts = c.Timeouts with { ResponseHeadMs = 4000 } });
        var stalled = new List<RawClient>();
        for (int i = 0; i < 10; i++)
        {
            var client = await RawClient.ConnectAsync(balancer.EndPoint);
            await client.SendAsync("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx");
            stalled.Add(client);
        }

        var answers = stalled.Select(c => c.ReadResponseAsync(timeout: TimeSpan.FromSeconds(30))).ToArray();
        using var http = balancer.CreateClient();
        var others = new List<HttpStatusCode>();
        int i2 = 0;
        while (!answers.All(t => t.IsCompleted))
        {
            using var response = await http.GetAsync($"/k/{i2++}");
            others.Add(response.StatusCode);
        }

        var statuses = (await Task.WhenAll(answers)).Select(r => r?.Status).ToArray();
        for (int i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync($"/after/{i}");
            others.Add(response.StatusCode);
        }

        var backends = balancer.State.Current.Backends;
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Has.All.EqualTo(408), "a stalled body is the client's fault");
            Assert.That(others, Has.All.EqualTo(HttpStatusCode.OK));
            for (int i = 0; i < backends.Backends.Count; i++)
            {
                Assert.That(backends[i].Circuit.State, Is.EqualTo(CircuitState.Closed), backends[i].Config.Id);
                Assert.That(backends[i].Failures, Is.Zero, backends[i].Config.Id);
                Assert.That(backends[i].Stats.Errors(BackendErrorKind.Timeout), Is.Zero, backends[i].Config.Id);
            }
        });
        foreach (var client in stalled)
        {
            client.Dispose();
        }
    }

    [Test]
    public async Task StalledUpload_GetsItsBodyTimeout_AndTheBackendConnectionIsClosed()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { Timeouts = c.Timeouts with { ClientBodyMs = 300, ResponseHeadMs = 600_000 }, Circuit = c.Circuit with { ConsecutiveFailures = 1 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx");
        var response = await client.ReadResponseAsync(timeout: TimeSpan.FromSeconds(30));
        var state = balancer.State.Current.Backends[0];
        await Eventually.Until(() => state.Stats.OpenConnections == 0 && state.InFlight == 0);
        Assert.Multiple(() =>
        {
            Assert.That(response?.Status, Is.EqualTo(408));
            Assert.That(response?.Header("Connection"), Is.EqualTo("close"));
            Assert.That(state.Failures, Is.Zero);
            Assert.That(state.Circuit.State, Is.EqualTo(CircuitState.Closed));
        });
    }

    [Test]
    public async Task ClientClosingMidBody_FreesItsBackendConnectionAtOnce_AndIsNotABackendTimeout()
    {
        await using var backend = await TestBackend.StartAsync("a");

        // Neither timeout can end the exchange within the test: only the client's close can.
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { Timeouts = c.Timeouts with { ClientBodyMs = 600_000, ResponseHeadMs = 600_000 }, Circuit = c.Circuit with { ConsecutiveFailures = 1 } });
        var state = balancer.State.Current.Backends[0];
        using (var client = await RawClient.ConnectAsync(balancer.EndPoint))
        {
            await client.SendAsync("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx");
            await Eventually.Until(() => state.Stats.OpenConnections == 1 && backend.Requests == 1);
        }

        await Eventually.Until(() => state.Stats.OpenConnections == 0 && state.InFlight == 0);
        Assert.Multiple(() =>
        {
            Assert.That(state.Failures, Is.Zero);
            Assert.That(state.Stats.Errors(BackendErrorKind.Timeout), Is.Zero);
            Assert.That(state.Circuit.State, Is.EqualTo(CircuitState.Closed));
        });
    }

    [Test]
    public async Task ClientsThatNeverRead_AreDisconnected_AndTheirBackendConnectionsReleased()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { Timeouts = c.Timeouts with { ClientSendMs = 500 }, Circuit = c.Circuit with { ConsecutiveFailures = 1 } });
        var state = balancer.State.Current.Backends[0];
        var readers = new List<Socket>();
        for (int i = 0; i < 10; i++)
        {
            // A small receive window, and nothing read: the response backs up into the balancer.
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await socket.ConnectAsync(balancer.EndPoint);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /big/{32 * 1024 * 1024} HTTP/1.1\r\nHost: x\r\n\r\n"));
            readers.Add(socket);
        }

        await Eventually.Until(() => backend.Requests == 10);
        await Eventually.Until(() => state.Stats.OpenConnections == 0 && state.InFlight == 0, seconds: 30);
        var closed = new List<bool>();
        foreach (var socket in readers)
        {
            closed.Add(await ReadsToTheEndAsync(socket));
            socket.Dispose();
        }

        using var http = balancer.CreateClient();
        using var after = await http.GetAsync("/k/1");
        Assert.Multiple(() =>
        {
            Assert.That(closed, Has.All.True, "every slow reader was disconnected");
            Assert.That(state.Failures, Is.Zero);
            Assert.That(state.Circuit.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    // Drains what the balancer sent before it closed; true when the connection ends (FIN or reset).
    private static async Task<bool> ReadsToTheEndAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[256 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
