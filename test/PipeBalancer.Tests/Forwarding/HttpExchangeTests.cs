using System.IO.Pipelines;
using System.Text;
using PipeBalancer.Forwarding;
using static PipeBalancer.Tests.Forwarding.PipeText;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>Exchanges driven through the HTTP handler over in-memory pipes: no sockets.</summary>
[CancelAfter(20_000)]
public sealed class HttpExchangeTests
{
    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    [Test]
    public async Task Upgrade_WithBodyStillArriving_SendsTheWholeBodyBeforeTheTunnel()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var head = await ReadHeadAsync(backend.Input);
            // Answer at once, before the announced body has arrived.
            await SendAsync(backend.Output, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: test\r\n\r\n");
            var body = await ReadExactlyAsync(backend.Input, 10);
            var tunnelled = await ReadExactlyAsync(backend.Input, 4);
            backendGot.SetResult(head + body + "|" + tunnelled);
            await SendAsync(backend.Output, "PONG");
            await backend.Output.CompleteAsync();
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: test\r\nContent-Length: 10\r\n\r\nhello");
        var response = await ReadHeadAsync(client.Input);
        Assert.That(response, Does.StartWith("HTTP/1.1 101"));
        await SendAsync(client.Output, "world");
        await SendAsync(client.Output, "PING");
        var got = await backendGot.Task;
        var pong = await ReadExactlyAsync(client.Input, 4);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(got, Does.EndWith("\r\n\r\nhelloworld|PING"));
            Assert.That(pong, Is.EqualTo("PONG"));
            Assert.That(proxy.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error), Is.Empty, "no fault of the balancer's own");
        });
    }

    [Test]
    public async Task HeadInOneByteSegments_IsForwardedWhole()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var head = await ReadHeadAsync(backend.Input);
            var body = await ReadExactlyAsync(backend.Input, 5);
            backendGot.SetResult(head + body);
            await SendAsync(backend.Output, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            foreach (char c in "2\r\nok\r\n0\r\n\r\n")
            {
                await SendAsync(backend.Output, c.ToString());
            }
        });
        var (client, handler, _) = proxy.ConnectHttp();
        foreach (char c in "PUT /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        {
            await SendAsync(client.Output, c.ToString());
        }

        var got = await backendGot.Task;
        var head = await ReadHeadAsync(client.Input);
        var body = await ReadExactlyAsync(client.Input, "2\r\nok\r\n0\r\n\r\n".Length);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(got, Does.StartWith("PUT /one HTTP/1.1\r\nHost: x\r\n"));
            Assert.That(got, Does.Contain("Content-Length: 5\r\n"));
            Assert.That(got, Does.EndWith("\r\n\r\nhello"));
            Assert.That(head, Does.StartWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"));
            Assert.That(body, Is.EqualTo("2\r\nok\r\n0\r\n\r\n"));
        });
    }

    [Test]
    public async Task ContentLengthList_IsForwardedAsOneValue()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var head = await ReadHeadAsync(backend.Input);
            backendGot.SetResult(head + await ReadExactlyAsync(backend.Input, 4));
            await SendAsync(backend.Output, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok");
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4,4\r\nContent-Length: 4\r\n\r\nbody");
        var got = await backendGot.Task;
        var (head, body) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(CountLines(got, "content-length:"), Is.EqualTo(1), got);
            Assert.That(got, Does.Contain("Content-Length: 4\r\n"));
            Assert.That(got, Does.EndWith("\r\n\r\nbody"));
            Assert.That(CountLines(head, "content-length:"), Is.EqualTo(1), head);
            Assert.That(head, Does.Contain("Content-Length: 2\r\n"));
            Assert.That(body, Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task ResponseWithContentLengthAndTransferEncoding_IsRelayedChunkedOnly()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var head = await ReadHeadAsync(client.Input);
        var body = await ReadExactlyAsync(client.Input, "2\r\nok\r\n0\r\n\r\n".Length);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.Not.Contain("Content-Length").IgnoreCase);
            Assert.That(head, Does.Contain("Transfer-Encoding: chunked\r\n"));
            Assert.That(body, Is.EqualTo("2\r\nok\r\n0\r\n\r\n"));
        });
    }

    [Test]
    public async Task AbsoluteFormTarget_ItsAuthorityReplacesHost()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            backendGot.SetResult((await ReadHeadAsync(backend.Input))!);
            await SendAsync(backend.Output, Ok);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET http://example.com:8080/path?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n");
        var got = await backendGot.Task;
        await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(got, Does.Contain("\r\nHost: example.com:8080\r\n"));
            Assert.That(got, Does.Not.Contain("other.test"));
            Assert.That(got, Does.Contain("\r\nX-Forwarded-Host: example.com:8080\r\n"));
        });
    }

    [Test]
    public async Task Timeout_WithTheOtherBackendsCircuitOpen_Gives504_AndTheLogNamesTheBackend()
    {
        using var logStream = new MemoryStream();
        var accessLog = new AccessLog(logStream, json: false);
        var proxy = new ProxyHarness(2, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await ReadToEndAsync(backend.Input);
        }, c => c with { Timeouts = c.Timeouts with { ResponseHeadMs = 100 }, Circuit = c.Circuit with { ConsecutiveFailures = 1, CooldownMs = 60_000 } }, accessLog);

        // s2's circuit is open: the request goes to s1, which never answers, and the walk then
        // finds nothing else eligible.
        var open = proxy.State.Current.Backends[1];
        open.RecordFailure(PipeBalancer.Backends.BackendErrorKind.Reset);
        Assert.That(open.Eligible, Is.False);
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET /t HTTP/1.1\r\nHost: x\r\n\r\n");
        var (head, _) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        // The state owns the access log: disposing it flushes the log.
        await proxy.DisposeAsync();
        var line = Encoding.UTF8.GetString(logStream.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 504"));
            Assert.That(line, Does.Contain("\" 504 s1 "), line);
        });
    }

    [Test]
    public async Task GarbageOnAPooledConnection_Gives502()
    {
        int exchanges = 0;
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, Ok);
            await ReadHeadAsync(backend.Input);
            Interlocked.Increment(ref exchanges);
            await SendAsync(backend.Output, "NOT HTTP AT ALL\r\n\r\n");
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await ReadResponseAsync(client.Input);
        await SendAsync(client.Output, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        var second = await ReadResponseAsync(client.Input);
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(first.Head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(proxy.Connects, Is.EqualTo(1), "the second request reused the pooled connection");
            Assert.That(second.Head, Does.StartWith("HTTP/1.1 502"));
            Assert.That(second.Head, Does.Not.Contain("Retry-After"));
        });
    }

    [Test]
    public async Task ResponseHeadOver64KB_Gives502AtOnce()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            var big = new StringBuilder("HTTP/1.1 200 OK\r\n");
            for (int i = 0; i < 1000; i++)
            {
                big.Append(System.Globalization.CultureInfo.InvariantCulture, $"X-Filler-{i}: {new string('a', 90)}\r\n");
            }

            await SendAsync(backend.Output, big.ToString());
            await ReadToEndAsync(backend.Input);
        }, c => c with { Timeouts = c.Timeouts with { ResponseHeadMs = 600_000 } });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var (head, _) = await ReadResponseAsync(client.Input);
        await handler;
        Assert.That(head, Does.StartWith("HTTP/1.1 502"));
    }

    [Test]
    public async Task Informational_IsNotRelayedToAnHttp10Client_ButIsToAnHttp11One()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            while (await ReadHeadAsync(backend.Input) is not null)
            {
                await SendAsync(backend.Output, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + Ok);
            }
        });
        var (client10, handler10, _) = proxy.ConnectHttp();
        await SendAsync(client10.Output, "GET / HTTP/1.0\r\n\r\n");
        var old = await ReadToEndAsync(client10.Input);
        await handler10;

        var (client11, handler11, _) = proxy.ConnectHttp();
        await SendAsync(client11.Output, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var current = await ReadToEndAsync(client11.Input);
        await handler11;
        Assert.Multiple(() =>
        {
            Assert.That(old, Does.StartWith("HTTP/1.1 200 OK\r\n").And.EndWith("ok"));
            Assert.That(current, Does.StartWith("HTTP/1.1 103 Early Hints\r\n").And.Contain("HTTP/1.1 200 OK\r\n"));
        });
    }

    [Test]
    public async Task ExpectContinue_RelaysThe100_ThenTheBody()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, "HTTP/1.1 100 Continue\r\n\r\n");
            backendGot.SetResult(await ReadExactlyAsync(backend.Input, 5));
            await SendAsync(backend.Output, Ok);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        var interim = await ReadHeadAsync(client.Input);
        await SendAsync(client.Output, "hello");
        var (head, body) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(async () =>
        {
            Assert.That(interim, Is.EqualTo("HTTP/1.1 100 Continue\r\n\r\n"));
            Assert.That(await backendGot.Task, Is.EqualTo("hello"));
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(body, Is.EqualTo("ok"));
        });
    }

    [Test]
    public async Task IdempotentRequestWithBody_AfterABackendFailure_IsReplayedOnTheNext()
    {
        var replayed = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(2, async (backend, pipe) =>
        {
            var head = await ReadHeadAsync(pipe.Input);
            var body = await ReadExactlyAsync(pipe.Input, 5);
            if (backend.Config.Id == "s1")
            {
                // Fails without a response byte.
                await pipe.Output.CompleteAsync();
                return;
            }

            replayed.SetResult(head + body);
            await SendAsync(pipe.Output, Ok);
        });

        // A path that routes to s1 first.
        string? path = null;
        for (int i = 0; path is null; i++)
        {
            var snapshot = proxy.State.Current;
            var candidate = "/r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            int server = snapshot.Backends.Router.Select(Encoding.ASCII.GetBytes(candidate), snapshot.Backends);
            path = snapshot.Backends[server].Config.Id == "s1" ? candidate : null;
        }

        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, $"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        var (head, body) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(async () =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(await replayed.Task, Does.StartWith($"PUT {path} HTTP/1.1\r\n").And.EndWith("\r\n\r\nhello"));
            Assert.That(proxy.State.Counters.Retries, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task BackendClosingMidBody_AbortsTheClientConnection()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            await backend.Output.CompleteAsync();
        });
        var (client, handler, context) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var got = await ReadToEndAsync(client.Input);
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(got, Does.StartWith("HTTP/1.1 200 OK\r\n").And.Contain("partial"));
            Assert.That(context.AbortedWith, Is.Not.Null, "a truncated response must not look whole");
        });
    }

    [Test]
    public async Task BytesNobodyAskedFor_KeepTheConnectionOutOfThePool()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, Ok + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra");
            await ReadToEndAsync(backend.Input);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var first = await ReadResponseAsync(client.Input);
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var second = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(first.Body, Is.EqualTo("ok"));
            Assert.That(second.Body, Is.EqualTo("ok"), "the unasked bytes never reach a client");
            Assert.That(proxy.Connects, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task AFaultOfTheBalancersOwn_IsLoggedWithItsStack_AndNotChargedToTheBackend()
    {
        await using var proxy = new ProxyHarness(1, _ => Task.CompletedTask);
        proxy.State.Connect = (_, _) => throw new InvalidOperationException("broken contract");
        var (client, handler, context) = proxy.ConnectHttp();
        await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await ReadToEndAsync(client.Input);
        await handler;
        var backend = proxy.State.Current.Backends[0];
        var fault = proxy.Logs.Entries.Where(e => e.Id.Id == 1003).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(fault, Has.Count.EqualTo(1));
            Assert.That(fault[0].Exception, Is.InstanceOf<InvalidOperationException>());
            Assert.That(backend.Failures, Is.Zero);
            Assert.That(context.AbortedWith, Is.Not.Null);
        });
    }

    [Test]
    public async Task ConnectsFailingOnALocalLimit_AnswerBadGateway_AndAreChargedToNoBackend()
    {
        await using var proxy = new ProxyHarness(1, _ => Task.CompletedTask);
        proxy.State.Connect = (_, _) => throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.TooManyOpenSockets);
        var backend = proxy.State.Current.Backends[0];
        var answers = new List<string>();

        // More failures than open a circuit (circuit.consecutiveFailures, 5 by default).
        for (int i = 0; i < 8; i++)
        {
            var (client, handler, _) = proxy.ConnectHttp();
            await SendAsync(client.Output, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            answers.Add(await ReadToEndAsync(client.Input));
            await handler;
        }

        Assert.Multiple(() =>
        {
            Assert.That(answers, Has.All.StartWith("HTTP/1.1 502 "));
            Assert.That(backend.Failures, Is.Zero);
            Assert.That(backend.Circuit.State, Is.EqualTo(PipeBalancer.Backends.CircuitState.Closed));
            Assert.That(backend.Eligible, Is.True);
            Assert.That(proxy.State.LocalLimits.Total, Is.EqualTo(8));
            Assert.That(proxy.State.LocalLimits.Recent, Is.True, "/readyz says the balancer is out of descriptors");
            Assert.That(proxy.Logs.Entries.Count(e => e.Id.Id == 2002), Is.EqualTo(8));
            Assert.That(proxy.Logs.Entries.Count(e => e.Id.Id == 1102), Is.EqualTo(1), "one line for the episode");
            Assert.That(proxy.Logs.Entries.Any(e => e.Id.Id is 1003 or 2001), Is.False);
        });
    }

    private static int CountLines(string head, string prefix) =>
        head.Split("\r\n").Count(l => l.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));
}
