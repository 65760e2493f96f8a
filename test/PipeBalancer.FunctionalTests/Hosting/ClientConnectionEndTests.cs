using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>
/// How a plain http listener's client connection ends: what the balancer wrote before closing
/// arrives whole, and the connection ends with a FIN, never a reset, even when the client reads
/// late; pipelined requests are answered in order.
/// </summary>
[NonParallelizable]
public sealed class ClientConnectionEndTests
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
    public async Task HeadLargerThanTheBackendPipesBound_IsReadWhole()
    {
        // A client is read ahead as far as Kestrel's connections read (1 MB), not only as far as
        // a backend pipe (64 KB): a 100 KB head within a 256 KB limit is forwarded, not left
        // waiting for its headers timeout.
        await using var backend = await TestBackend.StartAsync("s1");
        await using var balancer = await TestBalancer.StartAsync([("s1", backend.Port)], c => c with { Limits = c.Limits with { MaxHeaderBytes = 256 * 1024 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync($"GET /a HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 100 * 1024)}\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.That(response?.Status, Is.EqualTo(200));
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
