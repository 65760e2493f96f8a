namespace PipeBalancer.Configuration;

/// <summary>The <c>pool</c> section.</summary>
/// <param name="MaxIdlePerBackend">
/// Idle connections kept per backend (0 disables reuse). 1024: a thousand busy clients on a few
/// backends hold several hundred backend connections each at the peaks, and with 128 kept per
/// backend the rest were closed and opened again, one new backend connection every 28 requests
/// (docs/performance.md, "Many keep-alive connections").
/// </param>
internal sealed record PoolConfig(int MaxIdlePerBackend = 1024)
{
    /// <summary>The defaults.</summary>
    public static readonly PoolConfig Default = new();

    internal static readonly ConfigSchema<PoolConfig> Schema = new(Default,
    [
        new IntSetting<PoolConfig>("maxIdlePerBackend", 0, 100_000, c => c.MaxIdlePerBackend, (c, v) => c with { MaxIdlePerBackend = v }),
    ]);
}
