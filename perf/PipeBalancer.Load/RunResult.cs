namespace PipeBalancer.Load;

/// <summary>One measured run of one workload against one proxy.</summary>
/// <param name="Target">the proxy's name</param>
/// <param name="Pair">1-based pair number</param>
/// <param name="Wrk">what wrk reported (wrk workloads)</param>
/// <param name="CpuUsPerRequest">the proxy's utime+stime over the measured run / requests completed</param>
/// <param name="RssKb">the proxy's resident memory after the run</param>
/// <param name="Idle">the idle workload's figures</param>
/// <param name="Failure">why the run has no figures</param>
internal sealed record RunResult(string Target, int Pair, WrkResult? Wrk, double? CpuUsPerRequest, long RssKb, IdleResult? Idle, string? Failure)
{
    public bool Succeeded => Failure is null;

    public static RunResult Failed(string target, int pair, string why) => new(target, pair, null, null, 0, null, why);
}
