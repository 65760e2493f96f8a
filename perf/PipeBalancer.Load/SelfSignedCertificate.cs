using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PipeBalancer.Load;

/// <summary>An ECDSA P-256 certificate for 127.0.0.1, written as PEM files for both proxies.</summary>
internal static class SelfSignedCertificate
{
    /// <summary>Writes cert.pem, key.pem (PKCS#8) and haproxy.pem (certificate then key, as `crt` wants) to <paramref name="dir"/>.</summary>
    public static (string Certificate, string Key, string Combined) Write(string dir)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var certPem = certificate.ExportCertificatePem() + "\n";
        var keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        var paths = (Path.Combine(dir, "cert.pem"), Path.Combine(dir, "key.pem"), Path.Combine(dir, "haproxy.pem"));
        File.WriteAllText(paths.Item1, certPem);
        File.WriteAllText(paths.Item2, keyPem);
        File.WriteAllText(paths.Item3, certPem + keyPem);
        return paths;
    }
}
