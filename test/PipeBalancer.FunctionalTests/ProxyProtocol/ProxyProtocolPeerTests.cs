using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.FunctionalTests.ProxyProtocol;

/// <summary>
/// PROXY protocol against real peers on loopback: HAProxy sending headers to the balancer, the
/// balancer sending them to HAProxy and nginx. The client connects from 127.0.0.2 or 127.0.0.3
/// (Linux routes all of 127.0.0.0/8 to loopback), so the address a header carries differs from
/// the address of the peer that sent it (127.0.0.1).
/// </summary>
[CancelAfter(60_000)]
public sealed class ProxyProtocolPeerTests
{
    private const string Haproxy = "/usr/sbin/haproxy";
    private const string Nginx = "/usr/sbin/nginx";

    [TestCase("send-proxy")]
    [TestCase("send-proxy-v2")]
    public async Task HaproxySendsAHeader_TheBackendAndTheAccessLogSeeTheOriginalClient(string send)
    {
        await using var backend = await TestBackend.StartAsync("a");
        var log = new MemoryStream();
        string body;
        await using (var balancer = await TestBalancer.StartAsync([("a", backend.Port)], c => c with { Listeners = [Trusting(c.Listeners[0], "127.0.0.1")] },
            accessLog: new AccessLog(log, json: false)))
        {
            await using var haproxy = await PeerProcess.StartAsync(Haproxy, (_, port) => $$"""
                defaults
                  mode tcp
                  timeout connect 5s
                  timeout client 30s
                  timeout server 30s
                frontend front
                  bind 127.0.0.1:{{port}}
                  default_backend lb
                backend lb
                  server balancer 127.0.0.1:{{balancer.EndPoint.Port}} {{send}}
                """, path => ["-db", "-f", path]);

            body = await GetFromAsync("127.0.0.2", haproxy.Port, "/headers");
            // At least: HAProxy also sent one for the connection that checked it was listening.
            Assert.That(balancer.State.Counters.ProxyHeaders, Is.AtLeast(1));
        }

        string access = Encoding.UTF8.GetString(log.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Contain("X-Forwarded-For: 127.0.0.2\n"));
            Assert.That(access, Does.Contain(" 127.0.0.2 \"GET /headers HTTP/1.1\" 200 a "));
        });
    }

    [Test]
    public async Task BalancerSendsV2_HaproxyAcceptProxyTakesTheClientFromIt()
    {
        await using var haproxy = await PeerProcess.StartAsync(Haproxy, (_, port) => $$"""
            defaults
              mode http
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend front
              bind 127.0.0.1:{{port}} accept-proxy
              http-request return status 200 content-type text/plain lf-string "src=%[src]"
            """, path => ["-db", "-f", path]);

        // An http listener sends a header only with a pool of 0: each request its own connection.
        await using var balancer = await TestBalancer.StartAsync([("h", haproxy.Port)],
            c => c with { ProxyProtocol = new ProxyProtocolConfig(ProxySend.V2), Pool = new PoolConfig(0) });
        string first = await GetFromAsync("127.0.0.2", balancer.EndPoint.Port, "/");
        string second = await GetFromAsync("127.0.0.3", balancer.EndPoint.Port, "/");
        Assert.Multiple(() =>
        {
            Assert.That(first, Does.EndWith("src=127.0.0.2"));
            Assert.That(second, Does.EndWith("src=127.0.0.3"));
        });
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task HealthChecksOfABackendSentHeaders_StartWithOneToo_AndPass(int version)
    {
        // HAProxy with accept-proxy closes a connection that does not start with a header.
        await using var haproxy = await PeerProcess.StartAsync(Haproxy, (_, port) => $$"""
            defaults
              mode http
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend front
              bind 127.0.0.1:{{port}} accept-proxy
              http-request return status 200 content-type text/plain string "ok"
            """, path => ["-db", "-f", path]);
        await using var balancer = await TestBalancer.StartAsync([("h", haproxy.Port)], c => c with
        {
            Listeners = [c.Listeners[0] with { Mode = ListenerMode.Tcp }],
            ProxyProtocol = new ProxyProtocolConfig(version == 1 ? ProxySend.V1 : ProxySend.V2),
            Health = c.Health with { Enabled = true, IntervalMs = 100, Rise = 1 },
        }, ListenerMode.Tcp);
        var backend = balancer.State.Current.Backends[0];
        await Eventually.Until(() => backend.Health == PipeBalancer.Backends.HealthStatus.Healthy);
        Assert.That(backend.Health, Is.EqualTo(PipeBalancer.Backends.HealthStatus.Healthy));
    }

    [Test]
    public async Task BalancerSendsV1FromATcpListener_NginxProxyProtocolTakesTheClientFromIt()
    {
        await using var nginx = await PeerProcess.StartAsync(Nginx, (dir, port) => $$"""
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
              server {
                listen 127.0.0.1:{{port}} proxy_protocol;
                location / { return 200 "proxy_protocol_addr=$proxy_protocol_addr"; }
              }
            }
            """, path => ["-e", Path.Combine(Path.GetDirectoryName(path)!, "startup.log"), "-p", Path.GetDirectoryName(path)!, "-c", path]);

        await using var balancer = await TestBalancer.StartAsync([("n", nginx.Port)],
            c => c with { Backends = [c.Backends[0] with { ProxyProtocol = ProxySend.V1 }] }, ListenerMode.Tcp);
        string body = await GetFromAsync("127.0.0.3", balancer.EndPoint.Port, "/");
        Assert.That(body, Does.EndWith("proxy_protocol_addr=127.0.0.3"));
    }

    [Test]
    public async Task TlsListener_ReadsTheHeaderBeforeTheHandshake()
    {
        await using var backend = await TestBackend.StartAsync("a");
        var (tls, thumbprint) = WriteCertificate();
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { Listeners = [Trusting(c.Listeners[0], "127.0.0.1") with { Tls = tls }] });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(balancer.EndPoint);
        var header = new byte[ProxyHeaderWriter.MaxLength];
        int length = ProxyHeaderWriter.Write(header, ProxySend.V2, new IPEndPoint(IPAddress.Parse("198.51.100.9"), 40123), balancer.EndPoint);
        await socket.SendAsync(header.AsMemory(0, length));
        await using var stream = new SslStream(new NetworkStream(socket), false, (_, presented, _, _) => presented?.GetCertHashString() == thumbprint);
        await stream.AuthenticateAsClientAsync("localhost");
        await stream.WriteAsync("GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        string response = await new StreamReader(stream, Encoding.Latin1).ReadToEndAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response, Does.StartWith("HTTP/1.1 200"));
            Assert.That(response, Does.Contain("X-Forwarded-For: 198.51.100.9\n"));
            Assert.That(response, Does.Contain("X-Forwarded-Proto: https\n"));
        });
    }

    [Test]
    public async Task UntrustedSourceSendingAHeader_IsClosed_CountedInStats_AndTheBackendGetsNothing()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], c => c with { Listeners = [Trusting(c.Listeners[0], "10.0.0.0/8")] });
        string answer = await SendFromAsync("127.0.0.1", balancer.EndPoint.Port,
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        using var admin = balancer.CreateAdminClient();
        using var stats = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var counted = stats.RootElement.GetProperty("totals").GetProperty("proxyProtocol");
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.Empty);
            Assert.That(backend.Requests, Is.Zero);
            Assert.That(counted.GetProperty("untrusted").GetInt64(), Is.EqualTo(1));
            Assert.That(counted.GetProperty("accepted").GetInt64(), Is.Zero);
        });

        // A source outside the trusted networks without a header is served as usual.
        string plain = await GetFromAsync("127.0.0.1", balancer.EndPoint.Port, "/headers");
        Assert.That(plain, Does.Contain("X-Forwarded-For: 127.0.0.1\n"));
    }

    [Test]
    public async Task MalformedHeaderFromATrustedSource_IsClosed_AndTheBackendGetsNothing()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], c => c with { Listeners = [Trusting(c.Listeners[0], "127.0.0.0/8")] },
            ListenerMode.Tcp);
        string answer = await SendFromAsync("127.0.0.1", balancer.EndPoint.Port,
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 70000\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.Empty);
            Assert.That(backend.Requests, Is.Zero);
            Assert.That(balancer.State.Counters.ProxyHeaderRefusals(ProxyHeaderError.Malformed), Is.EqualTo(1));
        });
    }

    private static ListenerConfig Trusting(ListenerConfig listener, string network) =>
        listener with { ProxyProtocol = new ListenerProxyProtocolConfig([network]) };

    // One request from a client bound to source address `from`; the body of the response.
    private static async Task<string> GetFromAsync(string from, int port, string path)
    {
        string response = await SendFromAsync(from, port, $"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.That(response, Does.StartWith("HTTP/1.1 200"), response);
        return response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }

    // What the server sent back until it closed ("" when it closed or reset without a byte).
    private static async Task<string> SendFromAsync(string from, int port, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await socket.SendAsync(Encoding.Latin1.GetBytes(request));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with unread bytes in its buffer: a reset, which is a close too.
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    private static (TlsConfig Files, string Thumbprint) WriteCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pipebalancer proxy protocol test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string dir = Directory.CreateTempSubdirectory("pb-pp-tls-").FullName;
        string certPath = Path.Combine(dir, "c.crt");
        string keyPath = Path.Combine(dir, "c.key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (new TlsConfig(certPath, keyPath), certificate.Thumbprint);
    }
}
