using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PipeBalancer.Configuration;

namespace PipeBalancer.Hosting;

/// <summary>
/// A TLS listener's certificate, read from its PEM files: the first certificate of the
/// certificate file is the server's, the rest its chain (sent in the handshake). A reload reads
/// the files again; a renewed certificate serves the next handshake, and a file that cannot be
/// read leaves the certificate in use in place.
/// </summary>
internal sealed class CertificateSource
{
    // The certificate with the handshake options built on it, swapped whole on reload: every
    // handshake takes the same options object instead of building one (nothing in Kestrel or
    // SslStream writes to it, since ApplicationProtocols is always set).
    private volatile Offer _offer;

    private CertificateSource(TlsConfig config, SslStreamCertificateContext context)
    {
        Config = config;
        _offer = new Offer(context);
    }

    /// <summary>The files.</summary>
    public TlsConfig Config { get; }

    /// <summary>The certificate in use.</summary>
    public X509Certificate2 Certificate => _offer.Context.TargetCertificate;

    /// <summary>Reads <paramref name="config"/>'s files; null with the reason when they do not hold a certificate and its key.</summary>
    public static CertificateSource? TryLoad(TlsConfig config, out string? error)
    {
        var context = Read(config, out error);
        return context is null ? null : new CertificateSource(config, context);
    }

    /// <summary>Reads the files again; false (the old certificate stays) with the reason when that fails.</summary>
    public bool TryReload(out string? error)
    {
        var context = Read(Config, out error);
        if (context is null)
        {
            return false;
        }

        _offer = new Offer(context);
        return true;
    }

    /// <summary>
    /// What one handshake is offered: the current certificate, TLS 1.2 or 1.3; ALPN http/1.1 and
    /// http/1.0 on an http listener (a client offering only h2 is refused with TLS's
    /// no_application_protocol alert) and no protocol at all on a tcp one, whose bytes go to the backend as
    /// they are (a client offered h2 must not think it got it). No renegotiation (a client
    /// asking for one under TLS 1.2 is refused; TLS 1.3 has none) and no client certificate.
    /// </summary>
    public SslServerAuthenticationOptions Options(bool http) => http ? _offer.Http : _offer.Tcp;

    private static readonly SslApplicationProtocol Http10 = new("http/1.0");

    private static SslServerAuthenticationOptions Create(SslStreamCertificateContext context, bool http) => new()
    {
        ServerCertificateContext = context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ApplicationProtocols = http ? [SslApplicationProtocol.Http11, Http10] : [],
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };

    private sealed class Offer(SslStreamCertificateContext context)
    {
        public SslStreamCertificateContext Context { get; } = context;

        public SslServerAuthenticationOptions Http { get; } = Create(context, http: true);

        public SslServerAuthenticationOptions Tcp { get; } = Create(context, http: false);
    }

    private static SslStreamCertificateContext? Read(TlsConfig config, out string? error)
    {
        try
        {
            var leaf = X509Certificate2.CreateFromPemFile(config.Certificate, config.Key);
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(config.Certificate);
            var chain = new X509Certificate2Collection();
            foreach (var certificate in all)
            {
                if (certificate.Thumbprint != leaf.Thumbprint)
                {
                    chain.Add(certificate);
                }
            }

            error = null;
            return SslStreamCertificateContext.Create(leaf, chain, offline: true);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = $"cannot load the certificate {config.Certificate} with the key {config.Key}: {e.Message}";
            return null;
        }
    }
}
