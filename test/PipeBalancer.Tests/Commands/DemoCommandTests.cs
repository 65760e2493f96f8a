using PipeBalancer.Commands;

namespace PipeBalancer.Tests.Commands;

public sealed class DemoCommandTests
{
    [Test]
    public void Banner_ShowsTheDashboard_AndARouteCommandSpelledAsTheUserRunsIt()
    {
        string banner = DemoCommand.Banner("http://127.0.0.1:8080", "http://127.0.0.1:9090/", "./build.sh run", "lb.json");
        Assert.Multiple(() =>
        {
            Assert.That(banner, Does.Contain("balancer listening on http://127.0.0.1:8080"));
            Assert.That(banner, Does.Contain("dashboard (live stats) on http://127.0.0.1:9090/"));
            Assert.That(banner, Does.Contain("| ./build.sh run route --config lb.json"));
            Assert.That(banner, Does.Not.Contain("| pipebalancer route"));
            Assert.That(banner, Does.EndWith("lb.json\n\nCtrl+C stops the balancer and the sample backends.\n"));
        });
    }

    [Test]
    public void Banner_WithoutAnHttpListener_StillShowsTheDashboard()
    {
        string banner = DemoCommand.Banner(null, "http://127.0.0.1:9090/", "pipebalancer", "lb.json");
        Assert.That(banner, Does.Contain("dashboard (live stats) on http://127.0.0.1:9090/"));
    }

    [Test]
    public void Invocation_PrefersTheEnvironment_ThenTheExecutableAsReachableFromHere()
    {
        string here = Environment.CurrentDirectory;
        string executable = Path.Combine(here, "bin", "pipebalancer");
        Assert.Multiple(() =>
        {
            Assert.That(DemoCommand.Invocation("./build.sh run", executable, ""), Is.EqualTo("./build.sh run"));
            Assert.That(DemoCommand.Invocation(null, executable, ""), Is.EqualTo("./bin/pipebalancer"), "not on the PATH: a relative path that runs");
            Assert.That(DemoCommand.Invocation(null, "/usr/share/dotnet/dotnet", Path.Combine(here, "out", "pipebalancer.dll")), Is.EqualTo("dotnet ./out/pipebalancer.dll"));
            Assert.That(DemoCommand.Invocation(null, "/nowhere/else/pipebalancer", ""), Is.EqualTo("/nowhere/else/pipebalancer"));
        });
    }
}
