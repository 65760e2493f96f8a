using System.Net;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>
/// The Native AOT executable that <c>./build.sh publish</c> writes (and <c>./build.sh test</c>
/// writes before the tests run): what trimming removes or AOT cannot compile only shows up here.
/// </summary>
public sealed class AotBinaryTests
{
    private static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PipeBalancer.sln")))
            {
                dir = dir.Parent;
            }

            Assert.That(dir, Is.Not.Null, "the repository root (PipeBalancer.sln) is not above " + TestContext.CurrentContext.TestDirectory);
            return dir!.FullName;
        }
    }

    private static string Executable
    {
        get
        {
            string path = Path.Combine(RepositoryRoot, "artifacts", "publish", "linux-x64", "pipebalancer");
            if (!File.Exists(path))
            {
                Assert.Fail($"{path} does not exist: run ./build.sh publish first (./build.sh test does)");
            }

            return path;
        }
    }

    [Test]
    public async Task Serve_ProxiesAndServesTheAdminApp_ThenExitsZeroOnSigterm()
    {
        string executable = Executable;
        await using var backend = await TestBackend.StartAsync("s1");
        await using var balancer = await BalancerProcess.StartAsync(executable, $$"""
            {
              "listeners": [ { "name": "web", "address": "127.0.0.1:0", "mode": "http" } ],
              "admin": { "address": "127.0.0.1:0" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:{{backend.Port}}" } ]
            }
            """, start =>
            {
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT");
            });
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/item/1");
        string body = await response.Content.ReadAsStringAsync();
        string admin = $"http://127.0.0.1:{balancer.AdminPort}";
        using var stats = JsonDocument.Parse(await client.GetStringAsync($"{admin}/api/stats"));
        string metrics = await client.GetStringAsync($"{admin}/metrics");
        string dashboard = await client.GetStringAsync($"{admin}/");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body, Is.EqualTo("hello from s1"));
            Assert.That(backend.Paths, Does.Contain("/item/1"));
            Assert.That(stats.RootElement.GetProperty("totals").GetProperty("requests").GetInt64(), Is.EqualTo(1));
            Assert.That(stats.RootElement.GetProperty("process").GetProperty("inlineSocketCompletions").GetBoolean(), Is.True,
                "the AOT binary turns inline socket completions on by itself, as the JIT one does");
            Assert.That(metrics, Does.Contain("pipebalancer_requests_total"), "the Prometheus exporter");
            Assert.That(dashboard, Does.Contain("<title>PipeBalancer</title>"), "the dashboard, an embedded resource");
        });

        // SIGUSR1 and SIGUSR2 are registered by number (.NET names neither): the AOT binary handles them too.
        await balancer.SignalAsync("USR1");
        await balancer.SignalAsync("USR2");
        await Eventually.Until(() => balancer.Output.Any(l => l.Contains("SIGUSR2: nothing to do", StringComparison.Ordinal)), 30);
        Assert.That(balancer.HasExited, Is.False, "SIGUSR1 and SIGUSR2 must not end the process");
        Assert.That(await balancer.TerminateAsync(), Is.Zero, "exit code after SIGTERM; stderr: " + balancer.Errors);
    }

    [Test]
    public void PublishFolder_HoldsTheExecutableAlone_AndTheSymbolsGoToArtifactsSymbols()
    {
        string executable = Executable;
        var files = Directory.GetFiles(Path.GetDirectoryName(executable)!).Select(Path.GetFileName);
        Assert.Multiple(() =>
        {
            Assert.That(files, Is.EqualTo(new[] { "pipebalancer" }));
            Assert.That(File.Exists(Path.Combine(RepositoryRoot, "artifacts", "symbols", "linux-x64", "pipebalancer.dbg")), Is.True, "the native symbols");
        });
    }

    [Test]
    public async Task Version_NamesTheCommit()
    {
        var (code, stdout, _) = await ExecutableRun.RunAsync(Executable, "--version");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Match(@"^pipebalancer 0\.1\.0 \(commit ([0-9a-f]{7,40}|unknown)\)\n$"));
        });
    }
}
