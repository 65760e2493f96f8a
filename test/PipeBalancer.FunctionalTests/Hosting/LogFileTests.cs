using System.Net;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>
/// <c>--log-file</c> and <c>--access-log-file</c> with logrotate's routine, on the real
/// executable: rename the files, send SIGUSR1, and the balancer writes new files at the same paths.
/// </summary>
public sealed class LogFileTests
{
    private static string Executable => Path.Combine(TestContext.CurrentContext.TestDirectory, "pipebalancer");

    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pipebalancer-logs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Sigusr1_AfterTheFilesAreRenamed_ReopensBothAtTheirPaths_AndSigusr2DoesNotStopIt()
    {
        string log = Path.Combine(_dir, "pipebalancer.log");
        string access = Path.Combine(_dir, "access.log");
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(s1.Port), null,
            "--log-file", log, "--access-log-file", access);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task Get(string path) => Assert.That((await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}{path}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        await Get("/before/1");
        await Get("/before/2");
        await Eventually.Until(() => Read(access).Contains("/before/2", StringComparison.Ordinal), 30);

        // logrotate: rename, then SIGUSR1. Until the signal the balancer writes to the renamed files.
        File.Move(log, log + ".1");
        File.Move(access, access + ".1");
        await balancer.SignalAsync("USR1");
        await Eventually.Until(() => Read(log).Contains("SIGUSR1: reopened " + access, StringComparison.Ordinal), 30);
        await Get("/after/1");

        await balancer.SignalAsync("USR2");
        await Eventually.Until(() => Read(log).Contains("SIGUSR2: nothing to do", StringComparison.Ordinal), 30);
        await Get("/after/2");
        Assert.That(balancer.HasExited, Is.False, "SIGUSR2 must not end the process");

        // No wait for the access log's flush: a graceful stop writes what is buffered.
        Assert.That(await balancer.TerminateAsync(), Is.Zero, balancer.Errors);
        string oldAccess = Read(access + ".1");
        string newAccess = Read(access);
        string oldLog = Read(log + ".1");
        string newLog = Read(log);
        Assert.Multiple(() =>
        {
            Assert.That(oldAccess, Does.Contain("\"GET /before/1 HTTP/1.1\" 200 s1"));
            Assert.That(oldAccess, Does.Contain("/before/2").And.Not.Contain("/after/"));
            Assert.That(newAccess, Does.Contain("\"GET /after/1 HTTP/1.1\" 200 s1").And.Contain("/after/2"));
            Assert.That(newAccess, Does.Not.Contain("/before/"));
            Assert.That(oldLog, Does.Contain("PipeBalancer.Host[4001] Listener web (http) on 127.0.0.1:" + balancer.ProxyPort));
            Assert.That(oldLog, Does.Not.Contain("SIGUSR1"));
            Assert.That(newLog, Does.Contain("PipeBalancer.Host[4021] SIGUSR1: reopened " + log));
            Assert.That(newLog, Does.Contain("SIGUSR2: nothing to do"));
            Assert.That(newLog, Does.Contain("PipeBalancer.Host[4008] Stopped"));
            Assert.That(balancer.Output, Has.None.Contains("/before/").And.None.Contains("/after/").And.None.Contains("PipeBalancer.Host["),
                "stdout carries the start-up summary only");
        });
    }

    [Test]
    public async Task LogFile_InADirectoryThatDoesNotExist_RefusesToStartWithExitOne()
    {
        string missing = Path.Combine(_dir, "no-such-dir", "pipebalancer.log");
        string config = Path.Combine(_dir, "lb.json");
        await File.WriteAllTextAsync(config, BalancerProcess.OneBackendConfig(1));
        var (code, stdout, stderr) = await ExecutableRun.RunAsync(Executable, "serve", "--config", config, "--log-file", missing);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stderr.Trim(), Does.StartWith($"pipebalancer: cannot start: --log-file: cannot open {missing}:"));
            Assert.That(stdout, Is.Empty);
        });
    }

    private static string Read(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
