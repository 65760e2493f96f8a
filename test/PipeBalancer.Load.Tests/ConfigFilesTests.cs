using System.Security.Cryptography.X509Certificates;
using PipeBalancer.Configuration;
using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class ConfigFilesTests
{
    private static readonly FrontPorts Front = new(41001, 41002, 41003);
    private static readonly int[] Backends = [42001, 42002, 42003];

    [Test]
    public void BalancerConfig_IsAcceptedByTheBalancersLoader_WithThreeListenersAndTheRing()
    {
        var dir = Directory.CreateTempSubdirectory("pb-load-test-").FullName;
        try
        {
            var (certificate, key, _) = SelfSignedCertificate.Write(dir);
            var result = ConfigLoader.Parse(ConfigFiles.Balancer(Front, 41004, Backends, certificate, key));

            Assert.That(result.Errors, Is.Empty, string.Join("; ", result.Errors));
            var config = result.Config!;
            Assert.Multiple(() =>
            {
                Assert.That(config.Listeners.Select(l => l.Address.Port), Is.EqualTo(new[] { 41001, 41002, 41003 }));
                Assert.That(config.Listeners[1].Tls, Is.Not.Null);
                Assert.That(config.Listeners[2].Mode.ToString(), Is.EqualTo("Tcp").IgnoreCase);
                Assert.That(config.Backends.Select(b => b.Address.Port), Is.EqualTo(Backends));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void BalancerConfigWithTracing_IsAccepted_AndExportsToTheFirstBackend()
    {
        var dir = Directory.CreateTempSubdirectory("pb-load-test-").FullName;
        try
        {
            var (certificate, key, _) = SelfSignedCertificate.Write(dir);
            var result = ConfigLoader.Parse(ConfigFiles.Balancer(Front, 41004, Backends, certificate, key, tracing: true));

            Assert.That(result.Errors, Is.Empty, string.Join("; ", result.Errors));
            var tracing = result.Config!.Tracing;
            Assert.Multiple(() =>
            {
                Assert.That(tracing.Enabled, Is.True);
                Assert.That(tracing.SamplingRatio, Is.EqualTo(1.0));
                Assert.That(tracing.OtlpEndpoint, Is.EqualTo("http://127.0.0.1:42001/v1/traces"));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void BalancerConfig_WithRateLimit_HasOneClientIpLimiterOnTheHttpListeners()
    {
        var dir = Directory.CreateTempSubdirectory("pb-load-test-").FullName;
        try
        {
            var (certificate, key, _) = SelfSignedCertificate.Write(dir);
            var without = ConfigLoader.Parse(ConfigFiles.Balancer(Front, 41004, Backends, certificate, key));
            var with = ConfigLoader.Parse(ConfigFiles.Balancer(Front, 41004, Backends, certificate, key, rateLimit: true));

            Assert.That(with.Errors, Is.Empty, string.Join("; ", with.Errors));
            var limiter = with.Config!.RateLimits.Single();
            Assert.Multiple(() =>
            {
                Assert.That(without.Config!.RateLimits, Is.Empty);
                Assert.That(limiter.Key.ToString(), Is.EqualTo("client-ip"));
                Assert.That(limiter.Listeners, Is.EqualTo(new[] { "web", "secure" }));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Certificate_IsEcdsaP256_AndHaproxysFileHoldsCertificateThenKey()
    {
        var dir = Directory.CreateTempSubdirectory("pb-load-test-").FullName;
        try
        {
            var (certificate, key, combined) = SelfSignedCertificate.Write(dir);
            using var cert = X509Certificate2.CreateFromPemFile(certificate, key);
            using var ecdsa = cert.GetECDsaPublicKey();
            var pem = File.ReadAllText(combined);

            Assert.Multiple(() =>
            {
                Assert.That(ecdsa, Is.Not.Null);
                Assert.That(ecdsa!.KeySize, Is.EqualTo(256));
                Assert.That(pem.IndexOf("BEGIN CERTIFICATE", StringComparison.Ordinal), Is.LessThan(pem.IndexOf("BEGIN PRIVATE KEY", StringComparison.Ordinal)));
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void HaproxyConfig_HashesTheUriForHttp_AndTheSourceForTcp()
    {
        var cfg = ConfigFiles.Haproxy(Front, Backends, "/tmp/x/haproxy.pem", 9000);

        Assert.Multiple(() =>
        {
            Assert.That(cfg, Does.Contain("nbthread 2"));
            Assert.That(cfg, Does.Contain("maxconn 9000"));
            Assert.That(cfg, Does.Contain("bind 127.0.0.1:41002 ssl crt /tmp/x/haproxy.pem"));
            Assert.That(cfg, Does.Contain("balance uri\n    hash-type consistent\n    http-reuse always"));
            Assert.That(cfg, Does.Contain("mode tcp\n    balance source"));
            Assert.That(cfg.Split('\n').Count(l => l.Trim() == "server s2 127.0.0.1:42002"), Is.EqualTo(2));
        });
    }

    [Test]
    public void NginxBackends_ServeTheLargeFileWithSendfile_OnEachPort()
    {
        var conf = ConfigFiles.NginxBackends("/tmp/b", Backends);

        Assert.Multiple(() =>
        {
            Assert.That(conf, Does.Contain("worker_processes 1;"));
            Assert.That(conf, Does.Contain("sendfile on;"));
            Assert.That(conf.Split('\n').Count(l => l.Contains("try_files /big.bin", StringComparison.Ordinal)), Is.EqualTo(3));
            foreach (var port in Backends)
            {
                Assert.That(conf, Does.Contain($"listen 127.0.0.1:{port};"));
            }
        });
    }
}
