using System.IO.Pipelines;
using PipeBalancer.Backends;
using PipeBalancer.Forwarding;
using static PipeBalancer.Tests.Forwarding.PipeText;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>
/// Exchanges whose backend answers before it has taken the whole request body, over in-memory
/// pipes: the rest of the body is forwarded or thrown away by its framing, the client connection
/// stays in step for its next request, and a client that does not finish is bounded and charged
/// to nobody.
/// </summary>
[CancelAfter(30_000)]
public sealed class EarlyResponseTests
{
    private const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    private const string OkAndClose = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    private const string Second = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond";

    [Test]
    public async Task ContentLength_BackendKeepsTheConnection_TheRestIsForwarded_AndBothConnectionsCarryTheNextRequest()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            // The answer comes before the body has ended; then the backend reads the rest.
            await SendAsync(backend.Output, Ok);
            var body = await ReadExactlyAsync(backend.Input, 10);
            var next = await ReadHeadAsync(backend.Input);
            backendGot.SetResult(body + "|" + next);
            await SendAsync(backend.Output, Second);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
        var (head, body) = await ReadResponseAsync(client.Input);

        // The pipes run continuations inline: this read ran inside the balancer's flush of the
        // response. Off that thread, the exchange goes on to wait for the body's end first.
        await Task.Delay(100);
        await SendAsync(client.Output, "world");
        await SendAsync(client.Output, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        var (_, secondBody) = await ReadResponseAsync(client.Input);
        var got = await backendGot.Task;
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200 OK\r\n").And.Not.Contain("Connection: close"));
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(secondBody, Is.EqualTo("second"));
            Assert.That(got, Does.StartWith("helloworld|GET /next HTTP/1.1\r\n"));
            Assert.That(proxy.Connects, Is.EqualTo(1), "the backend connection carried the next request too");
            Assert.That(proxy.State.Current.Backends[0].Failures, Is.Zero);
        });
    }

    [Test]
    public async Task Chunked_BackendClosesAfterItsAnswer_TheRestIsReadByItsFraming_AndTheClientConnectionCarriesTheNextRequest()
    {
        var firstBackendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var head = await ReadHeadAsync(backend.Input);
            if (head!.StartsWith("GET ", StringComparison.Ordinal))
            {
                await SendAsync(backend.Output, Second);
                return;
            }

            // Answers, says it closes, and closes both ways without reading the body.
            await SendAsync(backend.Output, OkAndClose);
            var seen = await backend.Input.ReadAsync();
            firstBackendGot.SetResult(System.Text.Encoding.Latin1.GetString(System.Buffers.BuffersExtensions.ToArray(seen.Buffer)));
            backend.Input.AdvanceTo(seen.Buffer.End);
            await backend.Input.CompleteAsync();
            await backend.Output.CompleteAsync();
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        var (head, body) = await ReadResponseAsync(client.Input);
        await firstBackendGot.Task;

        // The rest of the body, with a chunk that looks like a request line and a trailer: only
        // the framing says where the next request starts.
        await SendAsync(client.Output, "13\r\nGET /not HTTP/1.1\r\n");
        await SendAsync(client.Output, "\r\n0\r\nX-Trailer: t\r\n\r\n");
        await SendAsync(client.Output, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        var (secondHead, secondBody) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await handler;
        var backend = proxy.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200 OK\r\n").And.Not.Contain("Connection: close"), "the client connection is not the backend's");
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(secondHead, Does.StartWith("HTTP/1.1 200 OK\r\n"));
            Assert.That(secondBody, Is.EqualTo("second"));
            Assert.That(proxy.Connects, Is.EqualTo(2), "a backend that said close is not reused");
            Assert.That(backend.Failures, Is.Zero);
            Assert.That(backend.Stats.Errors(BackendErrorKind.Reset), Is.Zero);
        });
    }

    [Test]
    public async Task ContentLength_BackendSaysCloseButStaysOpen_TheRestIsThrownAway_AndTheClientConnectionCarriesTheNextRequest()
    {
        var firstBackendGot = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var head = await ReadHeadAsync(backend.Input);
            if (head!.StartsWith("GET ", StringComparison.Ordinal))
            {
                await SendAsync(backend.Output, Second);
                return;
            }

            // Says it closes, then neither reads nor closes until the balancer does.
            await SendAsync(backend.Output, OkAndClose);
            await ReadToEndAsync(backend.Input);
            firstBackendGot.SetResult("closed");
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
        var (_, body) = await ReadResponseAsync(client.Input);
        await Task.Delay(100);
        await SendAsync(client.Output, "world");
        await SendAsync(client.Output, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        var (_, secondBody) = await ReadResponseAsync(client.Input);
        var firstGot = await firstBackendGot.Task;
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(secondBody, Is.EqualTo("second"));
            Assert.That(firstGot, Is.EqualTo("closed"), "the backend connection was closed, not pooled");
            Assert.That(proxy.Connects, Is.EqualTo(2));
            Assert.That(proxy.State.Current.Backends[0].Failures, Is.Zero);
        });
    }

    [Test]
    public async Task ClientThatAskedToClose_GetsItsResponse_ThenTheEndOnceItsBodyEnded()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, Ok);
            await ReadToEndAsync(backend.Input);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello");
        var (head, body) = await ReadResponseAsync(client.Input);
        await SendAsync(client.Output, "world");
        var rest = await ReadToEndAsync(client.Input);
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.Contain("Connection: close\r\n"));
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(rest, Is.Empty, "the end, after the body was read");
        });
    }

    [Test]
    public async Task ClientThatNeverEndsItsBody_IsClosedPastTheByteBound_AndNothingIsChargedToTheBackend()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, OkAndClose);
            await backend.Input.CompleteAsync();
            await backend.Output.CompleteAsync();
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
        var (head, body) = await ReadResponseAsync(client.Input);
        var end = ReadToEndAsync(client.Input);

        // Far more than the bounds of the discard and of the lingering close after it.
        var chunk = new byte[64 * 1024];
        long sent = 0;
        using var ended = new CancellationTokenSource();
        _ = end.ContinueWith(_ => ended.Cancel(), TaskScheduler.Default);
        try
        {
            while (!end.IsCompleted && sent < 4 * DiscardLimits.MaxBytes)
            {
                var flushed = await client.Output.WriteAsync(chunk, ended.Token);
                sent += chunk.Length;
                if (flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The balancer closed while this write waited for it to read.
        }

        var rest = await end;
        await handler;
        var backend = proxy.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200 OK\r\n"));
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(rest, Is.Empty, "the end follows the response");
            Assert.That(sent, Is.LessThan(4 * DiscardLimits.MaxBytes), "the balancer stopped reading");
            Assert.That(sent, Is.GreaterThan(2 * DiscardLimits.MaxBytes), "after the discard and the lingering close both ran to their bound");
            Assert.That(backend.Failures, Is.Zero);
            Assert.That(backend.Circuit.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(proxy.Logs.Entries.Count(e => e.Id.Id == 4031), Is.EqualTo(1), "one lingering close");
        });
    }

    [Test]
    public async Task ClientThatStallsInsideItsBody_IsClosedWhenTheWindowAfterTheResponsePasses_AndNothingIsChargedToTheBackend()
    {
        var backendEnded = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, Ok);
            backendEnded.SetResult(await ReadToEndAsync(backend.Input));
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
        var (_, body) = await ReadResponseAsync(client.Input);
        var end = ReadToEndAsync(client.Input);

        // The heartbeat walks as if the window had passed (and then the lingering close's pause):
        // no waiting in the test.
        while (!end.IsCompleted)
        {
            proxy.State.Heartbeat.Walk(Environment.TickCount64 + DiscardLimits.WindowMs + 60_000);
            await Task.WhenAny(end, Task.Delay(20));
        }

        var rest = await end;
        await handler;
        var forwarded = await backendEnded.Task;
        var backend = proxy.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(body, Is.EqualTo("ok"));
            Assert.That(rest, Is.Empty);
            Assert.That(forwarded, Does.EndWith("hello"), "the backend connection was closed, not pooled");
            Assert.That(backend.Failures, Is.Zero);
            Assert.That(backend.Stats.Errors(BackendErrorKind.Timeout), Is.Zero);
            Assert.That(backend.Circuit.State, Is.EqualTo(CircuitState.Closed));
        });
    }

    [Test]
    public async Task ClientStillWaitingForContinue_IsToldTheConnectionCloses()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            await ReadHeadAsync(backend.Input);
            await SendAsync(backend.Output, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
            await ReadToEndAsync(backend.Input);
        });
        var (client, handler, _) = proxy.ConnectHttp();
        await SendAsync(client.Output, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
        var head = await ReadHeadAsync(client.Input);
        var rest = await ReadToEndAsync(client.Input);
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 401 ").And.Contain("Connection: close\r\n"));
            Assert.That(rest, Is.Empty);
            Assert.That(proxy.State.Current.Backends[0].Failures, Is.Zero);
        });
    }
}
