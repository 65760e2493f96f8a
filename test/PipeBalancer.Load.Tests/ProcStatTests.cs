using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class ProcStatTests
{
    [Test]
    public void CpuTicks_AreUtimePlusStime_CountedFromTheLastParenthesis()
    {
        // A command name with spaces and a ')' must not shift the fields.
        const string line = "4242 (we ird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 3 0 100 1000000 2000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

        Assert.That(ProcStat.TryParseCpuTicks(line, out var ticks), Is.True);
        Assert.That(ticks, Is.EqualTo(1234 + 567));
    }

    [Test]
    public void CpuTicks_OfATruncatedLine_AreRefused() =>
        Assert.That(ProcStat.TryParseCpuTicks("4242 (x) S 1 2", out _), Is.False);

    [Test]
    public void OwnProcess_HasMemoryAndCpuTime()
    {
        var family = ProcStat.Family(Environment.ProcessId);

        Assert.Multiple(() =>
        {
            Assert.That(family[0], Is.EqualTo(Environment.ProcessId));
            Assert.That(ProcStat.RssKb(family), Is.GreaterThan(1000));
            Assert.That(ProcStat.CpuTicks(family), Is.GreaterThan(0));
        });
    }

    [Test]
    public void Family_IncludesChildProcesses()
    {
        using var child = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            Assert.That(ProcStat.Family(Environment.ProcessId), Does.Contain(child.Id));
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }
}
