using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// Bodies relayed over real sockets arrive byte for byte, by either framing and either way,
/// whatever the sizes around the 16 KB block boundary, and a body that breaks off is never
/// passed on as a whole one. Content-Length bodies are relayed corked (TCP_CORK), so these also
/// check that a cork never holds bytes back from a client or a backend that waits for them.
/// </summary>
[NonParallelizable]
public sealed class BodyRelayTests
{
    private static readonly int[] Sizes = [1, 16_383, 16_384, 16_385, 300_000, 3_000_000];

    [Test]
    public async Task Uploads_AreEchoedByteExact_WithContentLengthAndChunked_OnOneConnection()
    {
        await using var backend = await TestBackend.StartAsync("echo");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = balancer.CreateClient();
        var random = new Random(20261207);
        foreach (int size in Sizes)
        {
            var body = new byte[size];
            random.NextBytes(body);
            foreach (bool chunked in new[] { false, true })
            {
                using HttpContent content = chunked ? new UnknownLengthContent(body) : new ByteArrayContent(body);
                using var response = await client.PostAsync("/echo", content);
                var echoed = await response.Content.ReadAsByteArrayAsync();
                string how = chunked ? "chunked" : "Content-Length";
                Assert.Multiple(() =>
                {
                    Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{size} bytes, {how}");
                    Assert.That(response.Headers.TransferEncodingChunked == true, Is.EqualTo(chunked), $"{size} bytes: the response's framing follows the request's");
                    Assert.That(echoed.AsSpan().SequenceEqual(body), Is.True, $"{size} bytes, {how}: the echo is byte-exact");
                });
            }
        }

        // A small exchange after the large ones on the same connection is answered whole: no
        // cork is left on either connection.
        using var last = await client.PostAsync("/echo", new ByteArrayContent("end"u8.ToArray()));
        Assert.That(await last.Content.ReadAsStringAsync(), Is.EqualTo("end"));
    }

    [Test]
    public async Task SlowReader_GetsTheWholeBodyByteExact()
    {
        await using var backend = await TestBackend.StartAsync("echo");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(balancer.EndPoint);
        var body = new byte[2 * 1024 * 1024];
        new Random(7).NextBytes(body);
        var head = Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n");

        // The upload goes on while the response is read slowly: the echo can only go as fast as
        // this reader, so the relay's pipes fill and wait on both sides.
        var upload = Task.Run(async () =>
        {
            await socket.SendAsync(head, SocketFlags.None);
            await socket.SendAsync(body, SocketFlags.None);
        });
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int reads = 0;
        int headEnd = -1;
        long expected = long.MaxValue;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (received.Length < expected)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
            if (headEnd < 0 && (headEnd = received.GetBuffer().AsSpan(0, (int)received.Length).IndexOf("\r\n\r\n"u8)) >= 0)
            {
                expected = headEnd + 4 + body.Length;
            }

            if (++reads % 16 == 0)
            {
                await Task.Delay(1);
            }
        }

        await upload;
        Assert.That(headEnd, Is.GreaterThan(0), "a response head arrived");
        string responseHead = Encoding.ASCII.GetString(received.GetBuffer(), 0, headEnd);
        Assert.Multiple(() =>
        {
            Assert.That(responseHead, Does.StartWith("HTTP/1.1 200"));
            Assert.That(responseHead, Does.Contain($"Content-Length: {body.Length}"));
            Assert.That(received.Length, Is.EqualTo(expected), "the whole body, nothing more");
            Assert.That(received.GetBuffer().AsSpan(headEnd + 4, body.Length).SequenceEqual(body), Is.True, "byte-exact");
        });
    }

    [Test]
    public async Task BackendClosingMidBody_EndsTheClientConnectionShortOfTheAnnouncedLength()
    {
        const int Announced = 1024 * 1024;
        const int Sent = 300 * 1024;
        await using var backend = new RawBackend(async (socket, self) =>
        {
            if (await self.ReadHeadAsync(socket) is null)
            {
                return;
            }

            await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {Announced}\r\n\r\n"), SocketFlags.None);
            await socket.SendAsync(new byte[Sent], SocketFlags.None);
            socket.Close();
        });
        await using var balancer = await TestBalancer.StartAsync([("breaks", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] received;
        try
        {
            received = await client.ReadToEndAsync(timeout.Token);
        }
        catch (SocketException)
        {
            // Reset: the balancer aborts a client connection whose response cannot be whole.
            received = [];
        }

        int headEnd = received.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.That(headEnd < 0 || received.Length - (headEnd + 4) < Announced, Is.True,
            "the client never gets as many body bytes as were announced");

        // The balancer goes on serving: the next request reaches the backend and gets its head.
        using var next = await RawClient.ConnectAsync(balancer.EndPoint);
        await next.SendAsync("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
        using var second = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] again;
        try
        {
            again = await next.ReadToEndAsync(second.Token);
        }
        catch (SocketException)
        {
            again = [];
        }

        Assert.That(backend.Accepted, Is.EqualTo(2), "each request got a backend connection of its own: the broken one was not pooled");
        Assert.That(again.Length, Is.LessThan(Announced), "the second response breaks off too");
    }

    /// <summary>Content without a length: HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            // Several writes, so the body arrives as several chunks.
            for (int offset = 0; offset < bytes.Length; offset += 100_000)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(100_000, bytes.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
