namespace PipeBalancer.Configuration;

/// <summary>The <c>forwardedHeaders</c> section: which X-Forwarded-* fields the balancer adds.</summary>
/// <param name="For">Append the client address to X-Forwarded-For.</param>
/// <param name="Proto">Set X-Forwarded-Proto.</param>
/// <param name="Host">Set X-Forwarded-Host.</param>
internal sealed record ForwardedHeadersConfig(bool For = true, bool Proto = true, bool Host = true)
{
    /// <summary>All three on.</summary>
    public static readonly ForwardedHeadersConfig Default = new();

    internal static readonly ConfigSchema<ForwardedHeadersConfig> Schema = new(Default,
    [
        new BoolSetting<ForwardedHeadersConfig>("for", c => c.For, (c, v) => c with { For = v }),
        new BoolSetting<ForwardedHeadersConfig>("proto", c => c.Proto, (c, v) => c with { Proto = v }),
        new BoolSetting<ForwardedHeadersConfig>("host", c => c.Host, (c, v) => c with { Host = v }),
    ]);
}
