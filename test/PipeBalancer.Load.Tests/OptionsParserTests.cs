using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class OptionsParserTests
{
    private static LoadOptions Parse(params string[] args)
    {
        Assert.That(OptionsParser.TryParse(args, out var options, out var error), Is.True, error);
        return options;
    }

    private static string Error(params string[] args)
    {
        Assert.That(OptionsParser.TryParse(args, out _, out var error), Is.False);
        return error;
    }

    [Test]
    public void NoArguments_RunsAllNineWorkloads_InFivePairs()
    {
        var o = Parse();

        Assert.Multiple(() =>
        {
            Assert.That(o.Workloads, Has.Count.EqualTo(9));
            Assert.That(o.Pairs, Is.EqualTo(5));
            Assert.That(o.Aot, Is.False);
            Assert.That(o.SkipBuild, Is.False);
            Assert.That(o.DocsHeading, Is.Null);
        });
    }

    [Test]
    public void WorkloadNames_PickWorkloads_InTheOrderGiven_Once()
    {
        var o = Parse("tls", "small", "TLS");

        Assert.That(o.Workloads.Select(w => w.Name), Is.EqualTo(new[] { "tls", "small" }));
    }

    [Test]
    public void Options_TakeSeparateOrInlineValues()
    {
        var o = Parse("--pairs", "3", "--warmup=0", "--duration", "8", "--idle-seconds=5", "--paths", "100", "--aot", "--skip-build");

        Assert.Multiple(() =>
        {
            Assert.That(o.Pairs, Is.EqualTo(3));
            Assert.That(o.WarmupSeconds, Is.Zero);
            Assert.That(o.DurationSeconds, Is.EqualTo(8));
            Assert.That(o.IdleSeconds, Is.EqualTo(5));
            Assert.That(o.Paths, Is.EqualTo(100));
            Assert.That(o.Aot, Is.True);
            Assert.That(o.SkipBuild, Is.True);
        });
    }

    [Test]
    public void RateLimit_IsOffUnlessAsked()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Parse("small").RateLimit, Is.False);
            Assert.That(Parse("small", "--rate-limit").RateLimit, Is.True);
        });
    }

    [Test]
    public void WriteDocs_TakesAnOptionalHeading_ButNotAWorkloadName()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Parse("--write-docs", "Before the rebuild").DocsHeading, Is.EqualTo("Before the rebuild"));
            Assert.That(Parse("--write-docs").DocsHeading, Is.EqualTo(""));
            var o = Parse("--write-docs", "idle");
            Assert.That(o.DocsHeading, Is.EqualTo(""));
            Assert.That(o.Workloads.Single().Name, Is.EqualTo("idle"));
        });
    }

    [Test]
    public void Help_IsRecognised_AndUsageNamesEveryWorkload()
    {
        Assert.That(Parse("-h").Help, Is.True);
        Assert.That(Parse("--help").Help, Is.True);
        Assert.That(OptionsParser.Usage, Does.Contain("Exit codes"));
        foreach (var w in Workloads.All)
        {
            Assert.That(OptionsParser.Usage, Does.Contain(w.Name));
        }
    }

    [Test]
    public void BadInput_GetsPreciseErrors()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Error("--pairs"), Is.EqualTo("--pairs needs a number"));
            Assert.That(Error("--pairs", "0"), Is.EqualTo("--pairs needs a whole number 1..1000000, got '0'"));
            Assert.That(Error("--duration=2.5"), Is.EqualTo("--duration needs a whole number 1..1000000, got '2.5'"));
            Assert.That(Error("--warmup", "-1"), Is.EqualTo("--warmup needs a whole number 0..1000000, got '-1'"));
            Assert.That(Error("--fast"), Is.EqualTo("unknown option '--fast' (see --help)"));
            Assert.That(Error("huge"), Does.StartWith("unknown workload 'huge'; the workloads are small, small-1000, large"));
        });
    }
}
