using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class WrkRunnerTests
{
    private static string Line(string name, int port = 5000) =>
        string.Join(' ', WrkRunner.Arguments(Workloads.Find(name)!, port, 6, "r.lua", 10000));

    [Test]
    public void Arguments_MatchEachWorkload()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Line("small"), Is.EqualTo("-t1 -c64 -d6s --latency --timeout 5s -s r.lua http://127.0.0.1:5000/ -- 10000 /p/ 0"));
            Assert.That(Line("small-1000"), Does.StartWith("-t2 -c1000 "));
            Assert.That(Line("large"), Does.EndWith("-- 10000 /big/ 0"));
            Assert.That(Line("post"), Does.EndWith("-- 10000 /p/ 65536"));
            Assert.That(Line("close"), Does.Contain("-c32 ").And.Contain("-H Connection: close http://"));
            Assert.That(Line("tls"), Does.Contain("https://127.0.0.1:5000/").And.Not.Contain("Connection: close"));
            Assert.That(Line("tls-handshake"), Does.Contain("-H Connection: close https://"));
        });
    }

    [Test]
    public void EveryWorkload_UsesTheListenerOfItsKind()
    {
        var front = new FrontPorts(1, 2, 3);

        Assert.Multiple(() =>
        {
            Assert.That(front.For(Workloads.Find("tls")!.Listener), Is.EqualTo(2));
            Assert.That(front.For(Workloads.Find("tcp")!.Listener), Is.EqualTo(3));
            Assert.That(Workloads.All.Where(w => w.Listener == Listener.Http).Select(w => front.For(w.Listener)), Is.All.EqualTo(1));
            Assert.That(Workloads.All.Select(w => w.Name), Is.Unique);
            Assert.That(Workloads.All, Has.Count.EqualTo(9));
        });
    }
}
