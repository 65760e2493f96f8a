namespace PipeBalancer.Configuration;

/// <summary><c>listeners[].tls</c>: the PEM files of the listener's certificate (chain) and private key.</summary>
/// <param name="Certificate">Path of the certificate chain's PEM file.</param>
/// <param name="Key">Path of the private key's PEM file (a path, not a secret: the file's permissions guard the key).</param>
internal sealed record TlsConfig(string Certificate, string Key)
{
    internal static readonly ConfigSchema<TlsConfig> Schema = new(new(null!, null!),
    [
        new StringSetting<TlsConfig>("certificate", c => c.Certificate, (c, v) => c with { Certificate = v! }) { Required = true },
        new StringSetting<TlsConfig>("key", c => c.Key, (c, v) => c with { Key = v! }) { Required = true },
    ]);
}
