namespace PipeBalancer.Load;

/// <summary>What the command line asked for.</summary>
internal sealed record LoadOptions
{
    public IReadOnlyList<Workload> Workloads { get; init; } = Load.Workloads.All;

    /// <summary>Pairs of runs per workload (balancer and HAProxy back to back, order flipped every pair).</summary>
    public int Pairs { get; init; } = 5;

    public int WarmupSeconds { get; init; } = 4;

    public int DurationSeconds { get; init; } = 6;

    /// <summary>How long the idle clients are held while the proxy's CPU is read.</summary>
    public int IdleSeconds { get; init; } = 10;

    /// <summary>Distinct request paths (keys) cycled by wrk.</summary>
    public int Paths { get; init; } = 10_000;

    /// <summary>Measure the Native AOT executable instead of the JIT build.</summary>
    public bool Aot { get; init; }

    /// <summary>Run the balancer with tracing on: every request recorded and its span exported over OTLP (to the first nginx backend, which answers 200).</summary>
    public bool Tracing { get; init; }

    public bool SkipBuild { get; init; }

    /// <summary>Put one rate limiter (by client address, never reached) on the balancer's HTTP listeners, to measure what a limiter costs.</summary>
    public bool RateLimit { get; init; }

    /// <summary>Append the table to docs/performance.md under this heading (null: do not).</summary>
    public string? DocsHeading { get; init; }

    public bool Help { get; init; }
}
