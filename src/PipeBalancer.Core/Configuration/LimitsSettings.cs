using PipeBalancer.Http1;

namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>limits</c> section's settings. Its record, <see cref="HttpLimits"/>, belongs to the
/// HTTP/1.1 parser (which holds the defaults, each with its source); the names and ranges are
/// declared here.
/// </summary>
internal static class LimitsSettings
{
    public static readonly ConfigSchema<HttpLimits> Schema = new(HttpLimits.Default,
    [
        new IntSetting<HttpLimits>("maxRequestLineBytes", 256, 1024 * 1024, c => c.MaxRequestLineBytes, (c, v) => c with { MaxRequestLineBytes = v }),
        new IntSetting<HttpLimits>("maxHeaderBytes", 1024, 1024 * 1024, c => c.MaxHeaderBytes, (c, v) => c with { MaxHeaderBytes = v }),
        new IntSetting<HttpLimits>("maxHeaderCount", 1, 10_000, c => c.MaxHeaderCount, (c, v) => c with { MaxHeaderCount = v }),
        new LongSetting<HttpLimits>("maxBodyBytes", 0, long.MaxValue, c => c.MaxBodyBytes, (c, v) => c with { MaxBodyBytes = v }),
    ]);
}
