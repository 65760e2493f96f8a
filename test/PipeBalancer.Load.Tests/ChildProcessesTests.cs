using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class ChildProcessesTests
{
    private static string Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static bool Alive(int pid) =>
        File.Exists($"/proc/{pid}/stat") && File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1][0] != 'Z';

    [Test]
    public void Dispose_KillsEveryProcessAndItsChildren()
    {
        var log = Path.GetTempFileName();
        try
        {
            int parent, child;
            using (var children = new ChildProcesses())
            {
                // sh with a child of its own, as nginx's master has workers.
                var p = children.Start("/bin/sh", ["-c", "sleep 60 & echo started; wait"], log);
                // The sleep itself, found by name: not by position (process ids wrap, so the
                // child may sort before its parent), nor any child (the shell may fork a
                // short-lived one of its own before it runs sleep).
                parent = p.Id;
                child = parent;
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (child == parent && DateTime.UtcNow < deadline)
                {
                    child = ProcStat.Family(p.Id).FirstOrDefault(id => id != parent && Command(id) == "sleep", parent);
                    Thread.Sleep(child == parent ? 20 : 0);
                }

                Assert.That(child, Is.Not.EqualTo(parent), "the child did not start");
            }

            // Dispose waits for the process it started; the grandchild got its SIGKILL in the
            // same call but, on a busy machine, may not have been scheduled to die yet.
            var gone = DateTime.UtcNow.AddSeconds(10);
            while ((Alive(parent) || Alive(child)) && DateTime.UtcNow < gone)
            {
                Thread.Sleep(20);
            }

            Assert.Multiple(() =>
            {
                Assert.That(Alive(parent), Is.False);
                Assert.That(Alive(child), Is.False);
            });
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Test]
    public void Start_WritesOutputToTheLog_AndRaisesTheOpenFilesLimitToTheHardLimit()
    {
        var log = Path.GetTempFileName();
        try
        {
            using var children = new ChildProcesses();
            var p = children.Start("/bin/sh", ["-c", "echo soft $(ulimit -n) hard $(ulimit -Hn); echo oops >&2"], log);
            p.WaitForExit();

            var words = File.ReadAllLines(log)[0].Split(' ');
            Assert.Multiple(() =>
            {
                Assert.That(words[1], Is.EqualTo(words[3]));
                Assert.That(File.ReadAllText(log), Does.Contain("oops"));
            });
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Test]
    public void Start_RemovesVariablesGivenAsNull()
    {
        var log = Path.GetTempFileName();
        Environment.SetEnvironmentVariable("PB_LOAD_TEST_VARIABLE", "inherited");
        try
        {
            using var children = new ChildProcesses();
            var p = children.Start("/bin/sh", ["-c", "echo \"[${PB_LOAD_TEST_VARIABLE:-unset}]\""], log, new Dictionary<string, string?> { ["PB_LOAD_TEST_VARIABLE"] = null });
            p.WaitForExit();

            Assert.That(File.ReadAllText(log).Trim(), Is.EqualTo("[unset]"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PB_LOAD_TEST_VARIABLE", null);
            File.Delete(log);
        }
    }
}
