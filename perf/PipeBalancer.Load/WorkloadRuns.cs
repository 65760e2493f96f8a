namespace PipeBalancer.Load;

/// <summary>Every measured run of one workload, for both proxies.</summary>
internal sealed record WorkloadRuns(Workload Workload, IReadOnlyList<RunResult> Runs);
