using System.Net.Sockets;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// A real nginx that answers a POST before it has read the body (<c>return 200</c>), behind the
/// balancer on real sockets: the client, still sending its body, reads the whole response, sends the
/// rest of the body without error, and then reads the connection's end (a FIN, not a reset), or
/// sends its next request on it. At
/// <c>/</c> nginx keeps its connection (the balancer forwards the rest of the body, which nginx
/// throws away); at <c>/close</c> it says <c>Connection: close</c> (the balancer throws the rest
/// away itself).
/// </summary>
[CancelAfter(60_000)]
public sealed class EarlyResponseTests
{
    private const string Nginx = "/usr/sbin/nginx";
    private const int BodyBytes = 1024 * 1024;
    private const int PieceBytes = 64 * 1024;

    [TestCase("/")]
    [TestCase("/close")]
    public async Task LargeBodyAnsweredEarly_ClientThatAskedToClose_ReadsTheWholeResponseThenAFin(string path)
    {
        await using var nginx = await StartNginxAsync();
        await using var balancer = await TestBalancer.StartAsync([("n", nginx.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync($"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {BodyBytes}\r\n\r\n");

        await client.SendAsync(new byte[PieceBytes]);

        // The response comes before the body has ended. The client reads it, and sends the rest
        // once the balancer has had time to act on the response (before, it closed the
        // connection at once, and the rest of the body met a reset).
        var response = await client.ReadResponseAsync();
        Exception? reset = null;
        byte[] after = [];
        try
        {
            await Task.Delay(200);
            await SendBodyAsync(client, PieceBytes);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            after = await client.ReadToEndAsync(timeout.Token);
        }
        catch (SocketException e)
        {
            reset = e;
        }

        var backend = balancer.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(response, Is.Not.Null);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.BodyText, Is.EqualTo("ok"));
            Assert.That(response.Header("Connection"), Is.EqualTo("close"));
            Assert.That(reset, Is.Null, "the connection ends with a FIN, not a reset");
            Assert.That(after, Is.Empty);
            Assert.That(backend.Failures, Is.Zero);
        });
    }

    [TestCase("/")]
    [TestCase("/close")]
    public async Task LargeBodyAnsweredEarly_KeepAliveClient_SendsItsNextRequestOnTheSameConnection(string path)
    {
        await using var nginx = await StartNginxAsync();
        await using var balancer = await TestBalancer.StartAsync([("n", nginx.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync($"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {BodyBytes}\r\n\r\n");
        await client.SendAsync(new byte[PieceBytes]);
        var first = await client.ReadResponseAsync();
        await Task.Delay(200);
        await SendBodyAsync(client, PieceBytes);
        await client.SendAsync("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        var second = await client.ReadResponseAsync();
        var backend = balancer.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(first?.Status, Is.EqualTo(200));
            Assert.That(first?.Header("Connection"), Is.Null, "the client connection stays open");
            Assert.That(second?.Status, Is.EqualTo(200));
            Assert.That(second?.BodyText, Is.EqualTo("ok"));
            Assert.That(backend.Failures, Is.Zero);
        });
    }

    [Test]
    public async Task LargeBodyAnsweredEarly_BackendClosingWhileTheRestIsForwarded_KeepAliveClientGoesOn()
    {
        // nginx keeps its connection at /linger but stops reading the rest of the body after a
        // second and closes: the balancer, forwarding the rest, finds the socket closed and
        // throws the rest away, and the client connection carries the next request.
        await using var nginx = await StartNginxAsync();
        await using var balancer = await TestBalancer.StartAsync([("n", nginx.Port)]);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync($"POST /linger HTTP/1.1\r\nHost: x\r\nContent-Length: {BodyBytes}\r\n\r\n");
        await client.SendAsync(new byte[PieceBytes]);
        var first = await client.ReadResponseAsync();
        var piece = new byte[PieceBytes];
        for (int sent = PieceBytes; sent < BodyBytes; sent += PieceBytes)
        {
            await Task.Delay(150);
            await client.SendAsync(piece);
        }

        await client.SendAsync("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        var second = await client.ReadResponseAsync();
        var backend = balancer.State.Current.Backends[0];
        Assert.Multiple(() =>
        {
            Assert.That(first?.Status, Is.EqualTo(200));
            Assert.That(second?.Status, Is.EqualTo(200), "the client connection survives the backend's close");
            Assert.That(second?.BodyText, Is.EqualTo("ok"));
            Assert.That(backend.Failures, Is.Zero);
        });
    }

    private static async Task SendBodyAsync(RawClient client, int sent)
    {
        var piece = new byte[PieceBytes];
        for (; sent < BodyBytes; sent += PieceBytes)
        {
            await client.SendAsync(piece);
        }
    }

    private static Task<PeerProcess> StartNginxAsync() => PeerProcess.StartAsync(Nginx, (dir, port) => $$"""
        worker_processes 1;
        daemon off;
        pid {{dir}}/nginx.pid;
        error_log {{dir}}/error.log warn;
        events { worker_connections 64; }
        http {
          access_log off;
          client_body_temp_path {{dir}}/client_body;
          proxy_temp_path {{dir}}/proxy;
          fastcgi_temp_path {{dir}}/fastcgi;
          uwsgi_temp_path {{dir}}/uwsgi;
          scgi_temp_path {{dir}}/scgi;
          client_max_body_size 0;
          server {
            listen 127.0.0.1:{{port}};
            location / { return 200 "ok"; }
            location /close { keepalive_timeout 0; return 200 "ok"; }
            location /linger { lingering_time 1s; lingering_timeout 1s; return 200 "ok"; }
          }
        }
        """, path => ["-e", Path.Combine(Path.GetDirectoryName(path)!, "startup.log"), "-p", Path.GetDirectoryName(path)!, "-c", path]);
}
