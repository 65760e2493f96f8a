using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Tests.Http1;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// Every request of the shared malformed corpus, sent through a real balancer to a backend
/// that counts every byte it receives: the client gets the corpus's status, the backend sees
/// nothing, and the connection is closed.
/// </summary>
public sealed class MalformedRequestTests
{
    private RawBackend _backend = null!;
    private TestBalancer _balancer = null!;

    private static IEnumerable<MalformedRequest> Corpus() => MalformedRequests.All();

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = RawBackend.Counting();
        _balancer = await TestBalancer.StartAsync([("counting", _backend.Port)]);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _balancer.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [TestCaseSource(nameof(Corpus))]
    public async Task MalformedRequest_GetsItsStatus_NeverReachesTheBackend_AndClosesTheConnection(MalformedRequest request)
    {
        using var client = await RawClient.ConnectAsync(_balancer.EndPoint);
        await client.SendAsync(request.Bytes);
        var response = await client.ReadResponseAsync();
        bool closed = await client.IsClosedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response, Is.Not.Null, "a response before the close");
            Assert.That(response!.Status, Is.EqualTo(request.Status));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(closed, Is.True, "the connection is closed after a rejection");
            Assert.That(_backend.Accepted, Is.Zero, "no connection to the backend");
            Assert.That(_backend.BytesReceived, Is.Zero, "not one byte to the backend");
        });
    }

    [Test]
    public async Task SlowHead_Gets408AfterTheHeadersTimeout()
    {
        await using var balancer = await TestBalancer.StartAsync([("counting", _backend.Port)],
            c => c with { Timeouts = c.Timeouts with { HeadersMs = 300 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        var response = await client.ReadResponseAsync(timeout: TimeSpan.FromSeconds(10));
        Assert.Multiple(async () =>
        {
            Assert.That(response!.Status, Is.EqualTo(408));
            Assert.That(await client.IsClosedAsync(), Is.True);
            Assert.That(_backend.BytesReceived, Is.Zero);
        });
    }

    [Test]
    public async Task IdleKeepAliveConnection_IsClosedQuietlyAfterTheKeepAliveTimeout()
    {
        await using var balancer = await TestBalancer.StartAsync([("counting", _backend.Port)],
            c => c with { Timeouts = c.Timeouts with { KeepAliveMs = 200 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        var bytes = await client.ReadToEndAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.That(bytes, Is.Empty, "closed without a response");
    }

    [Test]
    public async Task BodyOverTheLimit_Gets413BeforeAnyByteReachesTheBackend()
    {
        await using var balancer = await TestBalancer.StartAsync([("counting", _backend.Port)],
            c => c with { Limits = c.Limits with { MaxBodyBytes = 1000 } });
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response!.Status, Is.EqualTo(413));
            Assert.That(_backend.BytesReceived, Is.Zero);
        });
    }
}
