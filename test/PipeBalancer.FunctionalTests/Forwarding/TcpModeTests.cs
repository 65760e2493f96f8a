using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

public sealed class TcpModeTests
{
    [Test]
    public async Task Echo_GoesThroughBothWays_AndHalfCloseIsPassedOn()
    {
        var backendSawEnd = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async (socket, self) =>
        {
            // Echo until the client's half-close arrives, then answer with a trailer and close.
            var buffer = new byte[4096];
            long total = 0;
            int read;
            while ((read = await self.ReceiveAsync(socket, buffer)) > 0)
            {
                total += read;
                await socket.SendAsync(buffer.AsMemory(0, read));
            }

            backendSawEnd.TrySetResult(total);
            await socket.SendAsync("bye"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var balancer = await TestBalancer.StartAsync([("echo", backend.Port)], mode: ListenerMode.Tcp);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("hello over tcp"u8.ToArray());
        var buffer = new byte[4096];
        int got = 0;
        while (got < 14)
        {
            got += await client.ReceiveAsync(buffer.AsMemory(got));
        }

        client.Shutdown(SocketShutdown.Send);
        long backendTotal = await backendSawEnd.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var rest = new MemoryStream();
        int read;
        while ((read = await client.ReceiveAsync(buffer)) > 0)
        {
            rest.Write(buffer, 0, read);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.ASCII.GetString(buffer, 0, 14), Is.Not.Empty);
            Assert.That(backendTotal, Is.EqualTo(14), "the backend saw the client's half-close after all its bytes");
            Assert.That(Encoding.ASCII.GetString(rest.ToArray()), Is.EqualTo("bye"), "bytes after the client's half-close still arrive");
        });
    }

    [Test]
    public async Task SameClientAddress_AlwaysReachesTheSameBackend_AndDeadServersAreSkipped()
    {
        int dead = RawBackend.UnusedPort();
        var hits = new int[2];
        await using var a = new RawBackend(async (socket, self) => { Interlocked.Increment(ref hits[0]); await socket.SendAsync("a"u8.ToArray()); });
        await using var b = new RawBackend(async (socket, self) => { Interlocked.Increment(ref hits[1]); await socket.SendAsync("b"u8.ToArray()); });
        await using var balancer = await TestBalancer.StartAsync([("dead", dead), ("a", a.Port), ("b", b.Port)], mode: ListenerMode.Tcp);
        var answers = new HashSet<string>();
        for (int i = 0; i < 5; i++)
        {
            using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(balancer.EndPoint);
            var buffer = new byte[16];
            int read = await client.ReceiveAsync(buffer);
            answers.Add(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.Multiple(() =>
        {
            Assert.That(answers, Has.Count.EqualTo(1), "one client address, one backend");
            Assert.That(answers.Single(), Is.AnyOf("a", "b"));
        });
    }

    [Test]
    public async Task LargeTransfer_ArrivesByteExact_BothWays_AndIsCounted()
    {
        var up = Pattern(2 * 1024 * 1024 + 5, seed: 7);
        var down = Pattern(3 * 1024 * 1024 + 11, seed: 8);
        var backendGot = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async (socket, self) =>
        {
            // Sends its whole part while it reads the client's, then ends its side.
            var send = Task.Run(async () =>
            {
                await socket.SendAsync(down);
                socket.Shutdown(SocketShutdown.Send);
            });
            backendGot.TrySetResult(await ReceiveToEndAsync(socket));
            await send;
        });
        await using var balancer = await TestBalancer.StartAsync([("bulk", backend.Port)], mode: ListenerMode.Tcp);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(balancer.EndPoint);
        var clientGot = ReceiveToEndAsync(client);
        await client.SendAsync(up);
        client.Shutdown(SocketShutdown.Send);
        var atClient = await clientGot.WaitAsync(TimeSpan.FromSeconds(20));
        var atBackend = await backendGot.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var stats = balancer.State.Current.Backends[0].Stats;
        while (stats.OpenConnections != 0)
        {
            // The counts are added when the connection closes.
            await Task.Delay(10);
        }

        Assert.Multiple(() =>
        {
            Assert.That(atBackend.SequenceEqual(up), Is.True, "client to backend, byte for byte");
            Assert.That(atClient.SequenceEqual(down), Is.True, "backend to client, byte for byte");
            Assert.That(stats.BytesSent, Is.EqualTo(up.Length));
            Assert.That(stats.BytesReceived, Is.EqualTo(down.Length));
        });
    }

    [Test]
    public async Task BackendHalfClose_IsPassedOn_AndTheClientStillSends()
    {
        var backendGot = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new RawBackend(async (socket, self) =>
        {
            // Greets, ends its side at once, then reads what the client still sends.
            await socket.SendAsync("welcome"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
            backendGot.TrySetResult(Encoding.ASCII.GetString(await ReceiveToEndAsync(socket)));
        });
        await using var balancer = await TestBalancer.StartAsync([("greeter", backend.Port)], mode: ListenerMode.Tcp);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(balancer.EndPoint);
        var greeting = Encoding.ASCII.GetString(await ReceiveToEndAsync(client).WaitAsync(TimeSpan.FromSeconds(10)));
        await client.SendAsync("still talking"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        var late = await backendGot.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(greeting, Is.EqualTo("welcome"), "the backend's end reached the client after its bytes");
            Assert.That(late, Is.EqualTo("still talking"), "the client's direction went on after the backend's end");
        });
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[40_000];
        int read;
        while ((read = await socket.ReceiveAsync(buffer)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }
}
