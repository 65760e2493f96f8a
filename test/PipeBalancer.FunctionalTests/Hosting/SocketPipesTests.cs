using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Hosting;
using PipeBalancer.Runtime;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>
/// A plain http listener's client connections run on pipes straight over the accepted socket
/// (Hosting/SocketPipes): what the balancer wrote before closing arrives whole, and the
/// connection ends with a FIN, never a reset, even when the client reads late.
/// </summary>
[NonParallelizable]
public sealed class SocketPipesTests
{
    [Test]
    public async Task ConnectionClose_LargeResponse_ToALateReader_ArrivesWholeThenEnds()
    {
        const int size = 8 * 1024 * 1024;
        await using var backend = await TestBackend.StartAsync("big");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync($"GET /big/{size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        // Nothing read for a while: the balancer's last writes wait on a full socket buffer
        // when its handler is already done with the connection.
        await Task.Delay(500);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var all = await client.ReadToEndAsync(cts.Token);
        int headEnd = IndexOfBlankLine(all);
        Assert.Multiple(() =>
        {
            Assert.That(headEnd, Is.GreaterThan(0));
            Assert.That(Encoding.Latin1.GetString(all, 0, headEnd), Does.StartWith("HTTP/1.1 200"));
            Assert.That(all.Length - headEnd - 4, Is.EqualTo(size), "the whole body, then the end of the stream");
        });
    }

    [Test]
    public async Task BodyInFullBlocks_ArrivesWhole_AndTheIdleLoopAfterItHoldsNoBlock()
    {
        // Three receives that fill their 16 KB block (the loop then receives without waiting),
        // then a partial one: after it the loop waits for data again, and holds no block.
        using var pool = new BlockMemoryPool();
        var options = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline, minimumSegmentSize: BlockMemoryPool.DefaultBlockSize, useSynchronizationContext: false);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var accepted = await listener.AcceptAsync();

        var pipes = new SocketClientPipes(accepted, options);
        var sent = new byte[(3 * BlockMemoryPool.DefaultBlockSize) + 100];
        Random.Shared.NextBytes(sent);
        await client.SendAsync(sent);

        var received = new byte[sent.Length];
        int got = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (got < sent.Length)
        {
            var result = await pipes.Input.ReadAsync(cts.Token);
            foreach (var segment in result.Buffer)
            {
                segment.Span.CopyTo(received.AsSpan(got));
                got += segment.Length;
            }

            pipes.Input.AdvanceTo(result.Buffer.End);
        }

        Assert.That(received, Is.EqualTo(sent), "every byte, in order");
        await Eventually.Until(() => pool.Rented == 0);
        Assert.That(pool.Rented, Is.Zero, "an idle receive loop holds no block");

        client.Shutdown(SocketShutdown.Send);
        await pipes.CompleteAsync();
    }

    [Test]
    public async Task ConnectionClose_EndsWithFin_NotReset()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(backend);
        for (int i = 0; i < 20; i++)
        {
            using var client = await RawClient.ConnectAsync(balancer.EndPoint);
            await client.SendAsync("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.That(response?.Status, Is.EqualTo(200));

            // The end of the stream is a read of 0 bytes; a reset would throw.
            var buffer = new byte[16];
            int read = -1;
            Assert.DoesNotThrowAsync(async () => read = await client.Socket.ReceiveAsync(buffer, SocketFlags.None));
            Assert.That(read, Is.Zero);
        }
    }

    [Test]
    public async Task KeepAlive_PipelinedRequests_AreAnsweredInOrder_ThenTheClientsEndIsHonoured()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Multiple(async () =>
        {
            Assert.That(first?.Status, Is.EqualTo(200));
            Assert.That(second?.Status, Is.EqualTo(200));
            Assert.That(await client.IsClosedAsync(), Is.True, "the balancer closes once the client ended its side");
        });
    }

    private static int IndexOfBlankLine(byte[] bytes) => bytes.AsSpan().IndexOf("\r\n\r\n"u8);
}
