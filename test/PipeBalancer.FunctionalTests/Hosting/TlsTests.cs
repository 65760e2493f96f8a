using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PipeBalancer.Configuration;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>TLS termination: HTTPS in, plain HTTP to the backends, certificates from PEM files the test makes.</summary>
public sealed class TlsTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pb-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task HttpsListener_TerminatesTls_AndForwardsPlainHttp()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (certificate, tls) = WriteCertificate("first");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        using var client = HttpsClient(certificate);
        using var response = await client.GetAsync($"https://127.0.0.1:{balancer.EndPoint.Port}/secure/path");
        string headers = await client.GetStringAsync($"https://127.0.0.1:{balancer.EndPoint.Port}/headers");
        var (protocol, alpn, served) = await HandshakeAsync(balancer.EndPoint);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.GetValues("X-Backend").Single(), Is.EqualTo("a"));
            Assert.That(a.Paths, Does.Contain("/secure/path"), "the backend got the request in plain HTTP");
            Assert.That(headers, Does.Contain("X-Forwarded-Proto: https"));
            Assert.That(protocol, Is.AnyOf(System.Security.Authentication.SslProtocols.Tls12, System.Security.Authentication.SslProtocols.Tls13));
            Assert.That(alpn, Is.EqualTo(SslApplicationProtocol.Http11));
            Assert.That(served.Thumbprint, Is.EqualTo(certificate.Thumbprint));
        });
    }

    [Test]
    public async Task TlsOnATcpListener_NegotiatesNoApplicationProtocol_SoAClientOfferingH2SpeaksHttp11()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("tcp");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] }, ListenerMode.Tcp);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(balancer.EndPoint);
        await using var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });
        await stream.WriteAsync("GET /over-tls-tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(stream.NegotiatedApplicationProtocol, Is.EqualTo(default(SslApplicationProtocol)), "no ALPN: the backend speaks HTTP/1.1");
            Assert.That(response, Does.StartWith("HTTP/1.1 200").And.Contain("hello from a"), "and the connection ended when the backend closed");
        });
    }

    [Test]
    public async Task Curl_TrustingTheCertificate_GetsThroughTheHttpsListener()
    {
        Assert.That(File.Exists("/usr/bin/curl"), Is.True, "curl is needed for this test: apt-get install curl");
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("curl");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        var start = new ProcessStartInfo("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", tls.Certificate, $"https://127.0.0.1:{balancer.EndPoint.Port}/from-curl"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var curl = Process.Start(start)!;
        string body = await curl.StandardOutput.ReadToEndAsync();
        string error = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.That(curl.ExitCode, Is.Zero, error);
        Assert.That(body, Is.EqualTo("hello from a"));
    }

    [Test]
    public async Task Reload_PicksUpARenewedCertificate()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (first, tls) = WriteCertificate("renewed");
        string config = Path.Combine(_dir, "lb.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "listeners": [ { "name": "web", "address": "127.0.0.1:0", "tls": { "certificate": "{{tls.Certificate}}", "key": "{{tls.Key}}" } } ],
              "admin": { "address": "127.0.0.1:0" },
              "health": { "enabled": false },
              "backends": [ { "id": "a", "address": "127.0.0.1:{{a.Port}}" } ]
            }
            """);
        await using var balancer = await TestBalancer.StartFromFileAsync(config);
        var before = (await HandshakeAsync(balancer.EndPoint)).Served;

        var (second, _) = WriteCertificate("renewed");
        var result = await balancer.Host.ReloadAsync("certificate renewed");
        var after = (await HandshakeAsync(balancer.EndPoint)).Served;
        using var client = HttpsClient(second);
        using var response = await client.GetAsync($"https://127.0.0.1:{balancer.EndPoint.Port}/after");
        Assert.Multiple(() =>
        {
            Assert.That(result.Errors, Is.Empty);
            Assert.That(before.Thumbprint, Is.EqualTo(first.Thumbprint));
            Assert.That(after.Thumbprint, Is.EqualTo(second.Thumbprint), "the next handshake uses the renewed certificate");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task AClientComingBack_ResumesItsTls12Session_WithoutAFullHandshake()
    {
        // openssl comes with ca-certificates (build.sh's test packages). -reconnect opens five
        // more connections, each offering the first one's session.
        Assert.That(File.Exists("/usr/bin/openssl"), Is.True, "openssl is needed for this test: apt-get install openssl");
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("resume");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        var start = new ProcessStartInfo("/usr/bin/openssl", ["s_client", "-tls1_2", "-reconnect", "-connect", $"127.0.0.1:{balancer.EndPoint.Port}"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var openssl = Process.Start(start)!;
        openssl.StandardInput.Close();
        var output = openssl.StandardOutput.ReadToEndAsync();
        var error = openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var handshakes = (await output).Split('\n').Where(line => line.StartsWith("New, ", StringComparison.Ordinal) || line.StartsWith("Reused, ", StringComparison.Ordinal)).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(handshakes, Has.Count.EqualTo(6), await error);
            Assert.That(handshakes.Skip(1), Has.All.StartsWith("Reused, TLSv1.2"), "every reconnection resumed the session");
        });
    }

    [Test]
    public void ACertificateThatDoesNotLoad_StopsTheStart_WithTheReason()
    {
        string certificate = Path.Combine(_dir, "bad.pem");
        string key = Path.Combine(_dir, "bad.key");
        File.WriteAllText(certificate, "not a certificate");
        File.WriteAllText(key, "not a key");
        var error = Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await TestBalancer.StartAsync([("a", 1)], c => c with { Listeners = [c.Listeners[0] with { Tls = new TlsConfig(certificate, key) }] }));
        Assert.That(error!.Message, Does.Contain("cannot load the certificate").And.Contain("bad.pem"));
    }

    // A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
    private (X509Certificate2 Certificate, TlsConfig Files) WriteCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pipebalancer test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string certPath = Path.Combine(_dir, name + ".crt");
        string keyPath = Path.Combine(_dir, name + ".key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificate, new TlsConfig(certPath, keyPath));
    }

    private static HttpClient HttpsClient(X509Certificate2 trusted) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == trusted.Thumbprint,
        },
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private static async Task<(System.Security.Authentication.SslProtocols Protocol, SslApplicationProtocol Alpn, X509Certificate2 Served)> HandshakeAsync(IPEndPoint endPoint)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endPoint);
        // Any certificate is taken here: the test reads which one the listener served.
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        return (tls.SslProtocol, tls.NegotiatedApplicationProtocol, X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData()));
    }
}
