namespace PipeBalancer.Configuration;

/// <summary>The <c>circuit</c> section: when failures take a backend out (circuit breaking).</summary>
internal sealed record CircuitConfig
{
    /// <summary>The defaults: 5 failures in a row open the circuit for 5 s, doubling up to 60 s.</summary>
    public static readonly CircuitConfig Default = new();

    private const int Hour = 3600 * 1000;

    /// <summary>Whether passive failures take backends out at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Failures in a row that open the circuit.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>The first cool-down; it doubles on each reopening.</summary>
    public int CooldownMs { get; init; } = 5000;

    /// <summary>The longest cool-down.</summary>
    public int MaxCooldownMs { get; init; } = 60_000;

    /// <summary>Whether a 5xx response counts as a failure.</summary>
    public bool Count5xx { get; init; }

    internal static readonly ConfigSchema<CircuitConfig> Schema = new(Default,
    [
        new BoolSetting<CircuitConfig>("enabled", c => c.Enabled, (c, v) => c with { Enabled = v }),
        new IntSetting<CircuitConfig>("consecutiveFailures", 1, 1000, c => c.ConsecutiveFailures, (c, v) => c with { ConsecutiveFailures = v }),
        new IntSetting<CircuitConfig>("cooldownMs", 10, Hour, c => c.CooldownMs, (c, v) => c with { CooldownMs = v }),
        new IntSetting<CircuitConfig>("maxCooldownMs", 10, Hour, c => c.MaxCooldownMs, (c, v) => c with { MaxCooldownMs = v }),
        new BoolSetting<CircuitConfig>("count5xx", c => c.Count5xx, (c, v) => c with { Count5xx = v }),
    ]);
}
