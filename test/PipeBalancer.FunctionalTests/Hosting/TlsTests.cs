using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PipeBalancer.Configuration;
using Microsoft.Extensions.Logging;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Tests.Forwarding;

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
    public async Task TheEndOfAConnection_IsSentAsTlsCloseNotify_SoAClientCanTellItFromACut()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("close-notify");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(balancer.EndPoint);
        var records = new TlsRecordTypes(tcp.GetStream());

        // TLS 1.2: an alert record shows its type on the wire (TLS 1.3 hides it as application data).
        await using var stream = new SslStream(records, leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12,
        });
        await stream.WriteAsync("GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(response, Does.StartWith("HTTP/1.1 200"));
            Assert.That(records.Last, Is.EqualTo(21), "the last record before the end is an alert (close_notify)");
        });
    }

    [Test]
    public async Task AClientOfferingOnlyHttp10_IsServed()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("http10");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(balancer.EndPoint);
        await using var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [new SslApplicationProtocol("http/1.0")],
        });
        await stream.WriteAsync("GET /old HTTP/1.0\r\nHost: x\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(stream.NegotiatedApplicationProtocol.ToString(), Is.EqualTo("http/1.0"));
            Assert.That(response, Does.StartWith("HTTP/1.1 200").And.Contain("hello from a"));
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

    [Test]
    public async Task AHandshakeThatFails_ClosesTheConnection_AndIsLoggedAtDebug()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("failed");
        var log = new ListLoggerProvider();
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] }, logging: l => l.SetMinimumLevel(LogLevel.Debug).AddProvider(log));

        // Plain HTTP to the TLS listener: not a ClientHello.
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        await client.SendAsync("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        await ReadUntilClosedAsync(client.Socket);
        await Eventually.Until(() => log.Entries.Any(e => e.Id.Id == 1111));
        Assert.Multiple(() =>
        {
            Assert.That(a.Paths, Does.Not.Contain("/plain"), "nothing reached the backend");
            Assert.That(log.Entries.Single(e => e.Id.Id == 1111).Level, Is.EqualTo(LogLevel.Debug));
            Assert.That(log.Entries.Where(e => e.Level >= LogLevel.Warning), Is.Empty, "a client's failed handshake is no warning");
        });
    }

    [Test]
    public async Task AClientThatNeverFinishesItsHandshake_IsClosedAfterHeadersMs()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (certificate, tls) = WriteCertificate("slow");
        var log = new ListLoggerProvider();
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }], Timeouts = c.Timeouts with { HeadersMs = 300 } },
            logging: l => l.SetMinimumLevel(LogLevel.Debug).AddProvider(log));

        // Connected, and silent: no ClientHello ever comes.
        using var silent = await RawClient.ConnectAsync(balancer.EndPoint);
        await ReadUntilClosedAsync(silent.Socket);
        await Eventually.Until(() => log.Entries.Any(e => e.Id.Id == 1112));

        // A client that does shake hands still gets through.
        using var client = HttpsClient(certificate);
        using var response = await client.GetAsync($"https://127.0.0.1:{balancer.EndPoint.Port}/after");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Stop_ClosesAnIdleTlsKeepAliveConnection()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("stop");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(balancer.EndPoint);
        await using var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await stream.AuthenticateAsClientAsync("localhost");
        await stream.WriteAsync("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        string first = await ReadResponseHeadAsync(stream);

        await balancer.Host.StopAsync("test").WaitAsync(TimeSpan.FromSeconds(30));
        int read = await stream.ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(first, Does.StartWith("HTTP/1.1 200"));
            Assert.That(read, Is.Zero, "the idle connection was closed");
        });
    }

    [Test]
    public async Task AHeadThatDoesNotCompleteOverTls_Gets408_AndTheConnectionCloses()
    {
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("slowloris");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }], Timeouts = c.Timeouts with { HeadersMs = 500 } });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(balancer.EndPoint);
        await using var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
        await stream.AuthenticateAsClientAsync("localhost");

        // The pending read is cancelled by the heartbeat, and the same stream still carries the answer.
        await stream.WriteAsync("GET /never-ends HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        string response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(response, Does.StartWith("HTTP/1.1 408"));
            Assert.That(a.Paths, Does.Not.Contain("/never-ends"));
        });
    }

    [Test]
    [NonParallelizable]
    public async Task IdleTlsKeepAliveClients_HoldNoPoolBlock()
    {
        const int Clients = 500;
        await using var a = await TestBackend.StartAsync("a");
        var (_, tls) = WriteCertificate("idle");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Listeners = [c.Listeners[0] with { Tls = tls }] });
        var clients = new List<(TcpClient Tcp, SslStream Stream)>();
        try
        {
            // Warm up: the pools' first blocks, then start counting.
            await OpenAsync(balancer.EndPoint, clients, 5);
            await Eventually.Until(() => balancer.State.RequestStates.InUse == 0);
            long blocksBefore = PipeBalancer.Runtime.BlockMemoryPool.Shared.Rented;
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            await OpenAsync(balancer.EndPoint, clients, Clients);
            await Eventually.Until(() => balancer.State.Counters.OpenConnections == Clients + 5 && balancer.State.RequestStates.InUse == 0);
            long blocks = PipeBalancer.Runtime.BlockMemoryPool.Shared.Rented - blocksBefore;
            long heap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;

            // Both ends are in this process: the heap's growth counts the clients' TLS state too.
            TestContext.Out.WriteLine($"{Clients} idle TLS connections: {heap / Clients} bytes of managed heap each (both ends), {blocks} more pool blocks rented");
            Assert.That(blocks, Is.LessThanOrEqualTo(4), "pool blocks held by idle TLS connections");
        }
        finally
        {
            foreach (var (tcp, stream) in clients)
            {
                await stream.DisposeAsync();
                tcp.Dispose();
            }
        }
    }

    // Opens count TLS connections with one request each, left open.
    private static async Task OpenAsync(IPEndPoint endPoint, List<(TcpClient, SslStream)> clients, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(endPoint);
            var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is not null);
            clients.Add((tcp, stream));
            await stream.AuthenticateAsClientAsync("localhost");
            await stream.WriteAsync("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            Assert.That(await ReadResponseHeadAsync(stream), Does.StartWith("HTTP/1.1 200"));
        }
    }

    // Reads a response head and its Content-Length body.
    private static async Task<string> ReadResponseHeadAsync(Stream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            int n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.That(n, Is.GreaterThan(0), "the balancer closed the connection");
            received.AddRange(buffer.AsSpan(0, n));
            string text = System.Text.Encoding.ASCII.GetString(received.ToArray());
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            string head = text[..end];
            var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            int body = length is null ? 0 : int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            if (received.Count >= end + 4 + body)
            {
                return head;
            }
        }
    }

    // Reads whatever comes (an alert, nothing) until the balancer closes the connection.
    private static async Task ReadUntilClosedAsync(Socket socket)
    {
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10)) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed with bytes unread: a reset, which is a close too.
        }
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

    // Reads through to the socket's stream and keeps the content type of each TLS record that
    // starts in what it read (5-byte headers: type, version, length).
    private sealed class TlsRecordTypes(Stream inner) : Stream
    {
        private readonly byte[] _header = new byte[5];
        private int _headerFilled;
        private int _bodyLeft;

        public int Last { get; private set; } = -1;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken);
            Track(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, default).GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Track(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                if (_bodyLeft > 0)
                {
                    int skip = Math.Min(_bodyLeft, bytes.Length);
                    _bodyLeft -= skip;
                    bytes = bytes[skip..];
                    continue;
                }

                int take = Math.Min(5 - _headerFilled, bytes.Length);
                bytes[..take].CopyTo(_header.AsSpan(_headerFilled));
                _headerFilled += take;
                bytes = bytes[take..];
                if (_headerFilled == 5)
                {
                    Last = _header[0];
                    _bodyLeft = (_header[3] << 8) | _header[4];
                    _headerFilled = 0;
                }
            }
        }
    }
}
