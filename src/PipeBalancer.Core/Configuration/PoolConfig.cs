namespace PipeBalancer.Configuration;

/// <summary>The <c>pool</c> section.</summary>
/// <param name="MaxIdlePerBackend">Idle connections kept per backend (0 disables reuse).</param>
internal sealed record PoolConfig(int MaxIdlePerBackend = 128)
{
    /// <summary>The defaults.</summary>
    public static readonly PoolConfig Default = new();

    internal static readonly ConfigSchema<PoolConfig> Schema = new(Default,
    [
        new IntSetting<PoolConfig>("maxIdlePerBackend", 0, 100_000, c => c.MaxIdlePerBackend, (c, v) => c with { MaxIdlePerBackend = v }),
    ]);
}
