using System.Globalization;
using System.Text;

namespace PipeBalancer.Load;

/// <summary>
/// The markdown a run leaves behind: one row per workload with the medians of both proxies and
/// the median of the per-pair ratios PB/HAProxy, then every run.
/// </summary>
internal static class ReportWriter
{
    public const string Balancer = "pipebalancer";
    public const string Haproxy = "haproxy";

    public static string Write(string heading, RunInfo info, IReadOnlyList<WorkloadRuns> workloads, IReadOnlyList<string> notes)
    {
        var o = info.Options;
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"### {heading}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{info.Timestamp}, commit {info.Commit}, {info.Build} build; machine: nproc {info.Processors}, {info.CpuModel}, kernel {info.Kernel}; {info.Tools}. ");
        md.Append(CultureInfo.InvariantCulture, $"`./build.sh load{CommandLine(o)}`: {o.Pairs} pairs per workload (PipeBalancer and HAProxy back to back, order flipped every pair), {o.WarmupSeconds} s warm-up before every {o.DurationSeconds} s measured run; ");
        md.Append("values are medians over the pairs, ratios the median of the per-pair ratios PB/HAProxy (in parentheses: the lowest and highest per-pair throughput ratio). CPU per request: utime+stime of all the proxy's processes over the measured run / requests completed. ");
        md.Append("Errors: non-2xx/3xx responses + socket errors, summed over the runs.\n\n");

        md.Append("| workload | PB | HAProxy | PB/HAProxy | PB CPU us/req | HAProxy CPU us/req | PB/HAProxy CPU | PB p99 ms | HAProxy p99 ms | PB/HAProxy p99 | errors PB / HAProxy | RSS MB PB / HAProxy |\n");
        md.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
        foreach (var w in workloads)
        {
            md.Append(w.Workload.Idle ? IdleRow(w) : WrkRow(w)).Append('\n');
        }

        md.Append('\n');
        foreach (var note in notes)
        {
            md.Append("- ").Append(note).Append('\n');
        }

        var failures = workloads.SelectMany(w => w.Runs.Where(r => !r.Succeeded).Select(r => (w.Workload, r))).ToList();
        foreach (var (workload, run) in failures)
        {
            md.Append(CultureInfo.InvariantCulture, $"- {workload.Name}, pair {run.Pair}, {run.Target}: not measured: {FirstLine(run.Failure!)}\n");
        }

        md.Append("\nEvery run:\n\n");
        md.Append("| workload | pair | target | req/s | MB/s | p50 ms | p99 ms | CPU us/req | errors | RSS MB |\n");
        md.Append("|---|---:|---|---:|---:|---:|---:|---:|---|---:|\n");
        foreach (var w in workloads)
        {
            foreach (var r in w.Runs)
            {
                md.Append(RunRow(w.Workload, r)).Append('\n');
            }
        }

        return md.ToString();
    }

    private static string WrkRow(WorkloadRuns w)
    {
        var mb = w.Workload.ReportsMegabytes;
        double? Throughput(RunResult r) => r.Wrk is null ? null : mb ? r.Wrk.MegabytesPerSecond : r.Wrk.RequestsPerSecond;
        double? P99(RunResult r) => r.Wrk?.P99Ms;
        double? Cpu(RunResult r) => r.CpuUsPerRequest;
        var unit = mb ? " MB/s" : " req/s";
        return $"| {w.Workload.Title} | {Number(Median(w, Balancer, Throughput))}{unit} | {Number(Median(w, Haproxy, Throughput))}{unit} | {Ratio(w, Throughput)}{Spread(w, Throughput)} " +
            $"| {Fixed(Median(w, Balancer, Cpu), 1)} | {Fixed(Median(w, Haproxy, Cpu), 1)} | {Ratio(w, Cpu)} " +
            $"| {Fixed(Median(w, Balancer, P99), 2)} | {Fixed(Median(w, Haproxy, P99), 2)} | {Ratio(w, P99)} " +
            $"| {Errors(w, Balancer)} / {Errors(w, Haproxy)} | {Fixed(Median(w, Balancer, r => r.RssKb / 1024.0), 0)} / {Fixed(Median(w, Haproxy, r => r.RssKb / 1024.0), 0)} |";
    }

    // No ratio of idle CPU: HAProxy's is a tick or two in the whole window, and a ratio of
    // such small counts says nothing.
    private static string IdleRow(WorkloadRuns w)
    {
        var clients = w.Workload.Connections;
        double? PerConnection(RunResult r) => r.Idle?.KbPerConnection(clients);
        double? Cpu(RunResult r) => r.Idle?.CpuPercent;
        return $"| {w.Workload.Title} | {Fixed(Median(w, Balancer, PerConnection), 1)} KB/conn | {Fixed(Median(w, Haproxy, PerConnection), 1)} KB/conn | {Ratio(w, PerConnection)} " +
            $"| idle CPU {Fixed(Median(w, Balancer, Cpu), 1)}% | idle CPU {Fixed(Median(w, Haproxy, Cpu), 1)}% | - " +
            $"| - | - | - | {Errors(w, Balancer)} / {Errors(w, Haproxy)} | {Fixed(Median(w, Balancer, r => r.Idle!.RssWithKb / 1024.0), 0)} / {Fixed(Median(w, Haproxy, r => r.Idle!.RssWithKb / 1024.0), 0)} |";
    }

    private static string RunRow(Workload workload, RunResult r)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"| {workload.Name} | {r.Pair} | {r.Target} |");
        if (!r.Succeeded)
        {
            return head + $" not measured: {FirstLine(r.Failure!).Replace('|', '/')} | | | | | | |";
        }

        if (r.Idle is { } idle)
        {
            return head + string.Create(CultureInfo.InvariantCulture,
                $" {idle.KbPerConnection(workload.Connections):0.0} KB/conn ({idle.Connected} held; RSS {idle.RssBeforeKb / 1024.0:0} -> {idle.RssWithKb / 1024.0:0} MB) | - | - | - | idle CPU {idle.CpuPercent:0.0}% | {ErrorText(idle.Failed, idle.FirstError)} | {idle.RssWithKb / 1024.0:0} |");
        }

        var wrk = r.Wrk!;
        var errors = wrk.Errors == 0 ? "0" : $"{wrk.Errors} (non-2xx {wrk.Non2xx}; socket: {wrk.SocketErrors})";
        return head + string.Create(CultureInfo.InvariantCulture,
            $" {wrk.RequestsPerSecond:0} | {wrk.MegabytesPerSecond:0.0} | {wrk.P50Ms:0.00} | {wrk.P99Ms:0.00} | {Fixed(r.CpuUsPerRequest, 1)} | {errors} | {r.RssKb / 1024.0:0} |");
    }

    private static string ErrorText(int failed, string? first) => failed == 0 ? "0" : $"{failed} ({first})";

    private static double? Median(WorkloadRuns w, string target, Func<RunResult, double?> value) =>
        Statistics.Median(w.Runs.Where(r => r.Target == target && r.Succeeded).Select(value).OfType<double>());

    private static string Ratio(WorkloadRuns w, Func<RunResult, double?> value)
    {
        var ratio = Statistics.MedianRatio(Pairs(w, value));
        return ratio is null ? "-" : ratio.Value.ToString("0.00", CultureInfo.InvariantCulture) + "x";
    }

    // The lowest and highest per-pair ratio, so a reader sees how far one run could mislead.
    private static string Spread(WorkloadRuns w, Func<RunResult, double?> value)
    {
        var ratios = Pairs(w, value).Where(p => p.A is not null && p.B is > 0).Select(p => p.A!.Value / p.B!.Value).ToList();
        return ratios.Count < 2 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({ratios.Min():0.00}-{ratios.Max():0.00})");
    }

    private static IEnumerable<(double? A, double? B)> Pairs(WorkloadRuns w, Func<RunResult, double?> value) =>
        w.Runs.Where(r => r.Succeeded).GroupBy(r => r.Pair).Select(g =>
            (g.FirstOrDefault(r => r.Target == Balancer) is { } a ? value(a) : null,
             g.FirstOrDefault(r => r.Target == Haproxy) is { } b ? value(b) : null));

    private static long Errors(WorkloadRuns w, string target) =>
        w.Runs.Where(r => r.Target == target && r.Succeeded).Sum(r => r.Wrk?.Errors ?? r.Idle?.Failed ?? 0);

    private static string Number(double? v) => v is null ? "-" : v.Value.ToString(v.Value >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture);

    private static string Fixed(double? v, int decimals) => v is null ? "-" : v.Value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static string CommandLine(LoadOptions o)
    {
        var sb = new StringBuilder();
        if (o.Workloads.Count != Workloads.All.Count)
        {
            sb.Append(' ').Append(string.Join(' ', o.Workloads.Select(w => w.Name)));
        }

        sb.Append(CultureInfo.InvariantCulture, $" --pairs {o.Pairs} --warmup {o.WarmupSeconds} --duration {o.DurationSeconds}");
        if (o.Workloads.Any(w => w.Idle))
        {
            sb.Append(CultureInfo.InvariantCulture, $" --idle-seconds {o.IdleSeconds}");
        }

        if (o.Aot)
        {
            sb.Append(" --aot");
        }

        if (o.RateLimit)
        {
            sb.Append(" --rate-limit");
        }

        return sb.ToString();
    }
}
