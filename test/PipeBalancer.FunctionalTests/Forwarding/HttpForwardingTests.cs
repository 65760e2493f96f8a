using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

[Parallelizable(ParallelScope.Self)]
public sealed class HttpForwardingTests
{
    private TestBackend[] _backends = [];
    private TestBalancer _balancer = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backends = [await TestBackend.StartAsync("s1"), await TestBackend.StartAsync("s2"), await TestBackend.StartAsync("s3")];
        _balancer = await TestBalancer.StartAsync(_backends);
        _client = _balancer.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _balancer.DisposeAsync();
        foreach (var b in _backends)
        {
            await b.DisposeAsync();
        }
    }

    [Test]
    public async Task Get_ReachesTheBackendTheRouterPredicts()
    {
        var router = _balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(3);
        for (int i = 0; i < 30; i++)
        {
            string path = $"/users/{i}";
            using var response = await _client.GetAsync(path);
            string expected = router.Servers[router.Select(Encoding.ASCII.GetBytes(path), view)].Id;
            Assert.Multiple(async () =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(response.Headers.GetValues("X-Backend").Single(), Is.EqualTo(expected), path);
                Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo($"hello from {expected}"));
            });
        }
    }

    [Test]
    public async Task SamePath_AlwaysReachesTheSameBackend_AndQueryDoesNotMatter()
    {
        var seen = new HashSet<string>();
        foreach (string path in new[] { "/same", "/same", "/same?x=1", "/same?y=2", "/same" })
        {
            using var response = await _client.GetAsync(path);
            seen.Add(response.Headers.GetValues("X-Backend").Single());
        }

        Assert.That(seen, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task OneKeepAliveConnection_RoutesEachRequestOnItsOwnKey()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        var backends = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync($"GET /k/{i} HTTP/1.1\r\nHost: test\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.That(response!.Status, Is.EqualTo(200));
            backends.Add(response.Header("X-Backend")!);
        }

        Assert.That(backends, Is.EquivalentTo(new[] { "s1", "s2", "s3" }));
    }

    [Test]
    public async Task PipelinedRequests_AreAnsweredInOrder()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        var paths = Enumerable.Range(0, 6).Select(i => $"/pipe/{i}").ToArray();
        await client.SendAsync(string.Concat(paths.Select(p => $"GET {p} HTTP/1.1\r\nHost: test\r\n\r\n")) + "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\nlast");
        var router = _balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(3);
        foreach (string path in paths)
        {
            var response = await client.ReadResponseAsync();
            Assert.That(response!.Header("X-Backend"), Is.EqualTo(router.Servers[router.Select(Encoding.ASCII.GetBytes(path), view)].Id), path);
        }

        Assert.That((await client.ReadResponseAsync())!.BodyText, Is.EqualTo("last"));
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("PATCH")]
    public async Task BodyWithContentLength_IsForwarded(string method)
    {
        string body = new('b', 100_000);
        using var request = new HttpRequestMessage(new HttpMethod(method), "/echo") { Content = new StringContent(body) };
        using var response = await _client.SendAsync(request);
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
    }

    [Test]
    public async Task ChunkedRequestAndResponse_ArePassedThrough()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
        var echoed = await client.ReadResponseAsync();
        await client.SendAsync("GET /chunked HTTP/1.1\r\nHost: test\r\n\r\n");
        var chunked = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(echoed!.BodyText, Is.EqualTo("hello world"));
            Assert.That(chunked!.Header("Transfer-Encoding"), Is.EqualTo("chunked"));
            Assert.That(chunked.BodyText, Is.EqualTo("one two three"));
        });
    }

    [Test]
    public async Task HeadAnd204And304_HaveNoBody_AndTheConnectionStaysUsable()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync("HEAD /big/1000 HTTP/1.1\r\nHost: test\r\n\r\n");
        var head = await client.ReadResponseAsync(headRequest: true);
        await client.SendAsync("GET /status/204 HTTP/1.1\r\nHost: test\r\n\r\n");
        var noContent = await client.ReadResponseAsync();
        await client.SendAsync("GET /status/304 HTTP/1.1\r\nHost: test\r\n\r\n");
        var notModified = await client.ReadResponseAsync();
        await client.SendAsync("GET /after HTTP/1.1\r\nHost: test\r\n\r\n");
        var after = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(head!.Status, Is.EqualTo(200));
            Assert.That(head.Header("Content-Length"), Is.EqualTo("1000"));
            Assert.That(noContent!.Status, Is.EqualTo(204));
            Assert.That(notModified!.Status, Is.EqualTo(304));
            Assert.That(after!.BodyText, Does.StartWith("hello from"));
        });
    }

    [Test]
    public async Task Http10_IsAnsweredAndClosed_UnlessKeepAliveIsAsked()
    {
        using (var client = await RawClient.ConnectAsync(_balancer.EndPoint))
        {
            await client.SendAsync("GET /old HTTP/1.0\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.That(response!.BodyText, Does.StartWith("hello from"));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(await client.IsClosedAsync(), Is.True);
        }

        using (var client = await RawClient.ConnectAsync(_balancer.EndPoint))
        {
            await client.SendAsync("GET /big/5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            var first = await client.ReadResponseAsync();
            await client.SendAsync("GET /big/6 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            var second = await client.ReadResponseAsync();
            Assert.That(first!.Header("Connection"), Is.EqualTo("keep-alive"));
            Assert.That(second!.Status, Is.EqualTo(200));
        }
    }

    [Test]
    public async Task ConnectionClose_IsHonoured()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync("GET /bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(await client.IsClosedAsync(), Is.True);
        });
    }

    [Test]
    public async Task ClientsThatCloseAfterEachRequest_ShareOneBackendConnection()
    {
        // The backend keeps its connection open: a client's Connection: close ends only the
        // client's side, and the next client's request goes over the same backend connection.
        await using var backend = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray());
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("raw", backend.Port)]);
        for (int n = 0; n < 3; n++)
        {
            using var client = await RawClient.ConnectAsync(balancer.EndPoint);
            await client.SendAsync($"GET /c/{n} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.Multiple(async () =>
            {
                Assert.That(response!.BodyText, Is.EqualTo("ok"));
                Assert.That(response.Header("Connection"), Is.EqualTo("close"));
                Assert.That(await client.IsClosedAsync(), Is.True);
            });
        }

        Assert.That(backend.Accepted, Is.EqualTo(1));
    }

    [Test]
    public async Task ExpectContinue_Works()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent("continued body") };
        request.Headers.ExpectContinue = true;
        using var response = await _client.SendAsync(request);
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("continued body"));
    }

    [Test]
    public async Task ForwardedHeaders_AreAdded_AndHopByHopFieldsRemoved()
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync("GET /headers HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: ftp\r\n" +
            "Connection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n");
        string received = (await client.ReadResponseAsync())!.BodyText;
        Assert.Multiple(() =>
        {
            Assert.That(received, Does.Contain("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n"));
            Assert.That(received, Does.Contain("X-Forwarded-Proto: http\n"));
            Assert.That(received, Does.Contain("X-Forwarded-Host: shop.example\n"));
            Assert.That(received, Does.Contain("Host: shop.example\n"));
            Assert.That(received, Does.Contain("X-Kept: yes\n"));
            Assert.That(received, Does.Not.Contain("X-Private"));
            Assert.That(received, Does.Not.Contain("Keep-Alive"));
            Assert.That(received, Does.Not.Contain("TE:"));
            Assert.That(received, Does.Not.Contain("Proxy-Connection"));
        });
    }

    [Test]
    public async Task WebSocket_EchoesThroughTheProxy()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_balancer.EndPoint.Port}/ws"), CancellationToken.None);
        var buffer = new byte[1024];
        foreach (string message in new[] { "ping", "a longer message through the tunnel" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, CancellationToken.None);
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.That(Encoding.UTF8.GetString(buffer, 0, received.Count), Is.EqualTo(message));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        Assert.That(socket.State, Is.EqualTo(WebSocketState.Closed));
    }

    [Test]
    public async Task LargeHeadAcrossPipeSegments_IsForwardedWhole()
    {
        // 20 KB of fields spans several of Kestrel's 4 KB pipe segments.
        string big = new('v', 20_000);
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync($"GET /headers HTTP/1.1\r\nHost: test\r\nX-Big: {big}\r\nX-After: end\r\n\r\n");
        string received = (await client.ReadResponseAsync())!.BodyText;
        Assert.Multiple(() =>
        {
            Assert.That(received, Does.Contain($"X-Big: {big}\n"));
            Assert.That(received, Does.Contain("X-After: end\n"));
        });
    }

    [Test]
    public async Task ContentLengthBodies_ArriveWhole_WhetherBufferedWithTheHeadOrSentLater()
    {
        // The backend sends some responses as one write (head and a 20 KB body that spans pipe
        // segments), others as the head first and the body later, and answers HTTP/1.0
        // requests too (the head then gains Connection: keep-alive).
        static byte[] Body(int n) => Enumerable.Range(0, 20_000).Select(i => (byte)('a' + (i + n) % 26)).ToArray();
        int answered = 0;
        await using var backend = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is not null)
            {
                int n = answered++;
                var body = Body(n);
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nX-N: {n}\r\n\r\n");
                if (n % 2 == 0)
                {
                    await socket.SendAsync(head.Concat(body).ToArray());
                }
                else
                {
                    await socket.SendAsync(head.Concat(body.Take(100)).ToArray());
                    await Task.Delay(50);
                    await socket.SendAsync(body.Skip(100).ToArray());
                }
            }
        });
        await using var balancer = await TestBalancer.StartAsync([("raw", backend.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        for (int n = 0; n < 4; n++)
        {
            string version = n == 2 ? "HTTP/1.0\r\nConnection: keep-alive" : "HTTP/1.1";
            await client.SendAsync($"GET /body/{n} {version}\r\nHost: test\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.That(response, Is.Not.Null, $"response {n}");
            Assert.Multiple(() =>
            {
                Assert.That(response!.Header("X-N"), Is.EqualTo(n.ToString()));
                Assert.That(response.Body, Is.EqualTo(Body(n)), $"body {n}");
                Assert.That(response.Header("Connection"), n == 2 ? Is.EqualTo("keep-alive") : Is.Null);
            });
        }

        // An HTTP/1.0 request leaves its backend connection unfit for reuse: one more was opened.
        Assert.That(backend.Accepted, Is.EqualTo(2));
    }

    [Test]
    public async Task ManyConcurrentClients_AllGetTheirAnswers()
    {
        var tasks = Enumerable.Range(0, 200).Select(async i =>
        {
            using var response = await _client.GetAsync($"/c/{i}");
            return response.StatusCode;
        });
        var statuses = await Task.WhenAll(tasks);
        Assert.That(statuses, Has.All.EqualTo(HttpStatusCode.OK));
    }
}
