using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Tests.Forwarding;
using static PipeBalancer.Tests.Forwarding.PipeText;

namespace PipeBalancer.Tests.ProxyProtocol;

[CancelAfter(20_000)]
public sealed class ProxyProtocolMiddlewareTests
{
    private const string Get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    private static readonly IPAddress Outsider = IPAddress.Parse("192.0.2.50");

    [TestCase("PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n", "203.0.113.7")]
    [TestCase("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n", "2001:db8::7")]
    [TestCase("PROXY UNKNOWN\r\n", "127.0.0.1")]
    public async Task TrustedHeader_ItsAddressIsTheClientForXForwardedFor(string header, string expected)
    {
        var heads = new List<string>();
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, heads));
        var (client, done, _) = Connect(proxy, ListenerMode.Http);
        await SendAsync(client.Output, header + Get);
        var (head, _) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await done;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(heads.Single(), Does.Contain($"X-Forwarded-For: {expected}\r\n"));
            Assert.That(proxy.State.Counters.ProxyHeaders, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task TrustedV2Local_KeepsTheConnectionsOwnAddress()
    {
        var heads = new List<string>();
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, heads));
        var (client, done, _) = Connect(proxy, ListenerMode.Http);
        await client.Output.WriteAsync(new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00 });
        await SendAsync(client.Output, Get);
        var (head, _) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await done;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(heads.Single(), Does.Contain("X-Forwarded-For: 127.0.0.1\r\n"));
        });
    }

    [Test]
    public async Task TcpMode_HeaderInOneBytePieces_TheBackendGetsTheClientInItsOwnHeader()
    {
        var received = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            received.SetResult(await ReadExactlyAsync(backend.Input, 47 + 4));
            await backend.Output.CompleteAsync();
        }, c => c with { ProxyProtocol = new ProxyProtocolConfig(ProxySend.V1) });
        var (client, done, _) = Connect(proxy, ListenerMode.Tcp);
        foreach (char c in "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\nping")
        {
            await SendAsync(client.Output, c.ToString());
        }

        string got = await received.Task;
        await client.Output.CompleteAsync();
        await done;
        Assert.That(got, Is.EqualTo("PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\nping"));
    }

    [Test]
    public async Task UntrustedSourceSendingAHeader_IsClosedAndCounted_NothingReachesABackend()
    {
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, []));
        var (client, done, context) = Connect(proxy, ListenerMode.Http, from: Outsider);
        await SendAsync(client.Output, "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n" + Get);
        string answer = await ReadToEndAsync(client.Input);
        await done;
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.EqualTo("<aborted>"), "closed without a byte");
            Assert.That(proxy.Connects, Is.Zero);
            Assert.That(context.AbortedWith, Is.Not.Null);
            Assert.That(proxy.State.Counters.ProxyHeaderRefusals(ProxyHeaderError.Untrusted), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task UntrustedSourceSendingAV2Header_InTcpMode_TheBackendGetsNoByte()
    {
        var received = new TaskCompletionSource<string>();
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            received.SetResult(await ReadToEndAsync(backend.Input));
            await backend.Output.CompleteAsync();
        });
        var (client, done, _) = Connect(proxy, ListenerMode.Tcp, from: Outsider);
        await client.Output.WriteAsync(new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00, 0x41 });
        await done;
        Assert.Multiple(async () =>
        {
            Assert.That(await received.Task, Is.Empty);
            Assert.That(proxy.State.Counters.ProxyHeaderRefusals(ProxyHeaderError.Untrusted), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task UntrustedSourceWithoutAHeader_IsServedAsItIs()
    {
        var heads = new List<string>();
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, heads));
        var (client, done, _) = Connect(proxy, ListenerMode.Http, from: Outsider);
        await SendAsync(client.Output, "P");
        await SendAsync(client.Output, "UT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        var (head, _) = await ReadResponseAsync(client.Input);
        await client.Output.CompleteAsync();
        await done;
        Assert.Multiple(() =>
        {
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(heads.Single(), Does.StartWith("PUT /a HTTP/1.1\r\n"));
            Assert.That(heads.Single(), Does.Contain("X-Forwarded-For: 192.0.2.50\r\n"));
        });
    }

    [TestCase("PROXY TCP4 203.0.113 198.51.100.1 51234 443\r\n" + Get, (int)ProxyHeaderError.Malformed)]
    [TestCase(Get, (int)ProxyHeaderError.Missing)]
    [TestCase("PROXY TCP4 203.0.113.7 198.5", (int)ProxyHeaderError.Truncated)]
    [TestCase("\r\n\r\n\0\r\nQUIT\n!\u0011\0\u000c", (int)ProxyHeaderError.Truncated)]
    public async Task TrustedSourceWithABadHeader_IsClosedAndCounted_NothingReachesABackend(string sent, int expectedError)
    {
        var expected = (ProxyHeaderError)expectedError;
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, []));
        var (client, done, _) = Connect(proxy, ListenerMode.Http);
        await SendAsync(client.Output, sent);
        await client.Output.CompleteAsync();
        string answer = await ReadToEndAsync(client.Input);
        await done;
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.EqualTo("<aborted>"), "closed without a byte");
            Assert.That(proxy.Connects, Is.Zero);
            Assert.That(proxy.State.Counters.ProxyHeaderRefusals(expected), Is.EqualTo(1));
            Assert.That(proxy.Logs.Entries.Select(e => e.Message), Has.Some.Contains("closed at its PROXY header"));
        });
    }

    [Test]
    public async Task VersionNotAccepted_IsClosedAndCounted()
    {
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, []));
        var (client, done, _) = Connect(proxy, ListenerMode.Http, accept: ProxyVersions.V2);
        await SendAsync(client.Output, "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n" + Get);
        string answer = await ReadToEndAsync(client.Input);
        await done;
        AssertClosedAndCounted(proxy, answer, ProxyHeaderError.Version);
    }

    [Test]
    public async Task SlowHeader_IsHeldToTheHeadersTimeout()
    {
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, []), c => c with { Timeouts = c.Timeouts with { HeadersMs = 100 } });
        var (client, done, _) = Connect(proxy, ListenerMode.Http);
        await SendAsync(client.Output, "PROXY TCP4 203.0.113.7 ");
        string answer = await ReadToEndAsync(client.Input);
        await done;
        AssertClosedAndCounted(proxy, answer, ProxyHeaderError.Timeout);
    }

    [Test]
    public async Task ConnectAndCloseWithoutAByte_IsNotCounted()
    {
        await using var proxy = new ProxyHarness(1, backend => AnswerAsync(backend, []));
        var (client, done, _) = Connect(proxy, ListenerMode.Http);
        await client.Output.CompleteAsync();
        await done;
        Assert.That(ProxyHeaderErrors.All.Sum(e => proxy.State.Counters.ProxyHeaderRefusals(e)), Is.Zero);
    }

    private static (IDuplexPipe Client, Task Done, TestConnectionContext Context) Connect(
        ProxyHarness proxy, ListenerMode mode, IPAddress? from = null, ProxyVersions accept = ProxyVersions.Any)
    {
        var connection = new InMemoryConnection();
        var context = new TestConnectionContext(connection.ProxySide, from) { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 8080) };
        ConnectionDelegate handler = mode == ListenerMode.Http ? new HttpProxyHandler(proxy.State).OnConnectedAsync : new TcpProxyHandler(proxy.State).OnConnectedAsync;
        var middleware = new ProxyProtocolMiddleware(handler, accept, TrustedNetworks.Parse(["127.0.0.0/8", "::1"]), proxy.State);
        var done = Task.Run(() => middleware.OnConnectionAsync(context));
        return (connection.PeerSide, done, context);
    }

    private static async Task AnswerAsync(IDuplexPipe backend, List<string> heads)
    {
        while (await ReadHeadAsync(backend.Input) is { } head)
        {
            lock (heads)
            {
                heads.Add(head);
            }

            await SendAsync(backend.Output, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }

        await backend.Output.CompleteAsync();
    }

    // Closed without a byte, nothing sent to a backend, and counted once under its reason.
    private static void AssertClosedAndCounted(ProxyHarness proxy, string answer, ProxyHeaderError error) =>
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.EqualTo("<aborted>"), "closed without a byte");
            Assert.That(proxy.Connects, Is.Zero);
            Assert.That(proxy.State.Counters.ProxyHeaderRefusals(error), Is.EqualTo(1));
        });
}
