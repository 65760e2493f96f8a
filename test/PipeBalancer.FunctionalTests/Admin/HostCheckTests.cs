using System.Net;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>The admin app answers only requests whose Host names it: a page on a rebound DNS name gets nothing.</summary>
public sealed class HostCheckTests
{
    [Test]
    public async Task AnotherHost_Is421_AndChangesNothing_EvenWithTheMatchingOrigin()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        int port = balancer.AdminUrl.Port;
        var adminEndPoint = new IPEndPoint(IPAddress.Loopback, port);

        // What a browser sends after evil.example has been rebound to 127.0.0.1.
        var drain = await SendAsync(adminEndPoint,
            $"POST /api/servers/a/drain HTTP/1.1\r\nHost: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\nContent-Length: 0\r\n\r\n");
        var read = await SendAsync(adminEndPoint, $"GET /api/stats HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n");
        var otherPort = await SendAsync(adminEndPoint, $"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1:{(port == 1 ? 2 : 1)}\r\n\r\n");
        var byAddress = await SendAsync(adminEndPoint, $"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        var byLocalhost = await SendAsync(adminEndPoint,
            $"POST /api/servers/b/drain HTTP/1.1\r\nHost: LocalHost:{port}\r\nOrigin: http://localhost:{port}\r\nContent-Length: 0\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(drain.Status, Is.EqualTo(421));
            Assert.That(drain.Header("Content-Type"), Is.EqualTo("application/problem+json"));
            Assert.That(drain.BodyText, Does.Contain("evil.example"));
            Assert.That(balancer.State.Current.Backends.Find("a")!.Draining, Is.False, "nothing changed");
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(2), "only the drain of b was applied");
            Assert.That(read.Status, Is.EqualTo(421), "reads are refused too: stats are not for other sites");
            Assert.That(otherPort.Status, Is.EqualTo(421));
            Assert.That(byAddress.Status, Is.EqualTo(200));
            Assert.That(byLocalhost.Status, Is.EqualTo(200), "localhost names a loopback address");
            Assert.That(balancer.State.Current.Backends.Find("b")!.Draining, Is.True);
        });
    }

    [Test]
    public async Task AListedHostName_IsAnswered()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Admin = c.Admin with { AllowedHosts = ["lb-1.internal"] } });
        int port = balancer.AdminUrl.Port;
        var adminEndPoint = new IPEndPoint(IPAddress.Loopback, port);
        var listed = await SendAsync(adminEndPoint,
            $"POST /api/servers/a/drain HTTP/1.1\r\nHost: lb-1.internal:{port}\r\nOrigin: http://lb-1.internal:{port}\r\nContent-Length: 0\r\n\r\n");
        var other = await SendAsync(adminEndPoint, $"GET /metrics HTTP/1.1\r\nHost: lb-2.internal:{port}\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(listed.Status, Is.EqualTo(200));
            Assert.That(balancer.State.Current.Backends.Find("a")!.Draining, Is.True);
            Assert.That(other.Status, Is.EqualTo(421));
        });
    }

    private static async Task<RawResponse> SendAsync(IPEndPoint endPoint, string request)
    {
        using var client = await RawClient.ConnectAsync(endPoint);
        await client.SendAsync(request);
        return (await client.ReadResponseAsync())!;
    }
}
