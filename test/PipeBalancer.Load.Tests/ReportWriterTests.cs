using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class ReportWriterTests
{
    private static readonly RunInfo Info = new(new DateTime(2026, 11, 29, 20, 0, 0, DateTimeKind.Utc), "690b85f", "JIT", 2, "AMD EPYC", "6.18", "wrk 4.1.0", new LoadOptions { Pairs = 3 });

    private static WrkResult Wrk(double rps, double p99, long non2xx = 0, double mbps = 1) =>
        new((long)(rps * 6), 6, rps, mbps * 1024 * 1024, 1, p99, non2xx, SocketErrors.None);

    private static RunResult Run(string target, int pair, double rps, double cpu, double p99, long non2xx = 0) =>
        new(target, pair, Wrk(rps, p99, non2xx), cpu, 80 * 1024, null, null);

    private static string Row(string report, string title) =>
        report.Split('\n').Single(l => l.StartsWith("| " + title, StringComparison.Ordinal));

    [Test]
    public void WorkloadRow_HasMediansAndTheMedianOfPerPairRatios()
    {
        var small = Workloads.Find("small")!;
        var runs = new WorkloadRuns(small,
        [
            Run("pipebalancer", 1, 900, 15, 2), Run("haproxy", 1, 1000, 10, 1),
            Run("haproxy", 2, 2000, 10, 2), Run("pipebalancer", 2, 1000, 12, 2),
            Run("pipebalancer", 3, 1800, 9, 3), Run("haproxy", 3, 2000, 10, 1, non2xx: 7),
        ]);

        var row = Row(ReportWriter.Write("T", Info, [runs], []), small.Title);

        // req/s ratios per pair 0.9, 0.5, 0.9 -> 0.90x; CPU 1.5, 1.2, 0.9 -> 1.20x; p99 2, 1, 3 -> 2.00x.
        Assert.That(row, Is.EqualTo($"| {small.Title} | 1,000 req/s | 2,000 req/s | 0.90x (0.50-0.90) | 12.0 | 10.0 | 1.20x | 2.00 | 1.00 | 2.00x | 0 / 7 | 80 / 80 |"));
    }

    [Test]
    public void LargeResponses_AreReportedInMegabytesPerSecond()
    {
        var large = Workloads.Find("large")!;
        var runs = new WorkloadRuns(large,
        [
            new RunResult("pipebalancer", 1, Wrk(2000, 5, mbps: 500), 50, 1024, null, null),
            new RunResult("haproxy", 1, Wrk(8000, 5, mbps: 2000), 10, 1024, null, null),
        ]);

        var row = Row(ReportWriter.Write("T", Info, [runs], []), large.Title);

        Assert.That(row, Does.StartWith($"| {large.Title} | 500 MB/s | 2,000 MB/s | 0.25x | 50.0 | 10.0 | 5.00x |"));
    }

    [Test]
    public void IdleRow_ReportsMemoryPerConnectionAndIdleCpu()
    {
        var idle = Workloads.Find("idle")!;
        var runs = new WorkloadRuns(idle,
        [
            new RunResult("pipebalancer", 1, null, null, 0, new IdleResult(8000, 0, null, 80_000, 80_000 + (18 * 8000), 3), null),
            new RunResult("haproxy", 1, null, null, 0, new IdleResult(7990, 10, "reset", 20_000, 20_000 + (1 * 8000), 0.5), null),
        ]);

        var row = Row(ReportWriter.Write("T", Info, [runs], []), idle.Title);

        Assert.That(row, Does.StartWith($"| {idle.Title} | 18.0 KB/conn | 1.0 KB/conn | 18.00x | idle CPU 3.0% | idle CPU 0.5% | - | - | - | - | 0 / 10 |"));
    }

    [Test]
    public void FailedRun_IsShownWithItsReason_AndLeftOutOfTheMedians()
    {
        var small = Workloads.Find("small")!;
        var runs = new WorkloadRuns(small,
        [
            Run("pipebalancer", 1, 900, 15, 2), Run("haproxy", 1, 1000, 10, 1),
            RunResult.Failed("pipebalancer", 2, "wrk's output has no 'Requests/sec:'"), Run("haproxy", 2, 5000, 10, 2),
        ]);

        var report = ReportWriter.Write("T", Info, [runs], ["a note"]);

        Assert.Multiple(() =>
        {
            Assert.That(Row(report, small.Title), Does.StartWith($"| {small.Title} | 900 req/s | 3,000 req/s | 0.90x |"));
            Assert.That(report, Does.Contain("- small, pair 2, pipebalancer: not measured: wrk's output has no 'Requests/sec:'"));
            Assert.That(report, Does.Contain("- a note"));
        });
    }

    [Test]
    public void Header_NamesDateCommitBuildAndMachine()
    {
        var report = ReportWriter.Write("Before", Info, [], []);

        Assert.Multiple(() =>
        {
            Assert.That(report, Does.StartWith("### Before\n\n2026-11-29 20:00 UTC, commit 690b85f, JIT build; machine: nproc 2, AMD EPYC"));
            Assert.That(report, Does.Contain("`./build.sh load --pairs 3 --warmup 4 --duration 6 --idle-seconds 10`"));
        });
    }
}
