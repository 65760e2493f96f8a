namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>retries</c> section: a request without a body and with an idempotent method that fails
/// after it was sent, before any response byte, is tried on the next server.
/// </summary>
internal sealed record RetryConfig
{
    /// <summary>The defaults: 2 retries, a budget of 20% of requests over 10 s (Envoy's default budget).</summary>
    public static readonly RetryConfig Default = new();

    /// <summary>Retries per request after a failure once the request was sent.</summary>
    public int Max { get; init; } = 2;

    /// <summary>Retries may add at most this share of the request rate.</summary>
    public int BudgetPercent { get; init; } = 20;

    /// <summary>The window the budget is counted over.</summary>
    public int BudgetWindowSeconds { get; init; } = 10;

    /// <summary>Retries always allowed per window, however few the requests.</summary>
    public int MinRetriesPerWindow { get; init; } = 3;

    /// <summary>Largest body kept so that an idempotent request with a body can be retried (0: never retry one).</summary>
    public int MaxBufferedBodyBytes { get; init; } = 64 * 1024;

    internal static readonly ConfigSchema<RetryConfig> Schema = new(Default,
    [
        new IntSetting<RetryConfig>("max", 0, 10, c => c.Max, (c, v) => c with { Max = v }),
        new IntSetting<RetryConfig>("budgetPercent", 0, 100, c => c.BudgetPercent, (c, v) => c with { BudgetPercent = v }),
        new IntSetting<RetryConfig>("budgetWindowSeconds", 1, 600, c => c.BudgetWindowSeconds, (c, v) => c with { BudgetWindowSeconds = v }),
        new IntSetting<RetryConfig>("minRetriesPerWindow", 0, 1_000_000, c => c.MinRetriesPerWindow, (c, v) => c with { MinRetriesPerWindow = v }),
        new IntSetting<RetryConfig>("maxBufferedBodyBytes", 0, 16 * 1024 * 1024, c => c.MaxBufferedBodyBytes, (c, v) => c with { MaxBufferedBodyBytes = v }),
    ]);
}
