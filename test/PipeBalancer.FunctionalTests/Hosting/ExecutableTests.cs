using System.Diagnostics;
using System.Net;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>The real executable, started as a user starts it, with a config file and real backends.</summary>
public sealed class ExecutableTests
{
    private static string Executable => Path.Combine(TestContext.CurrentContext.TestDirectory, "pipebalancer");

    [Test]
    public async Task Serve_ProxiesRequests_ServesStats_AndConfiguresTheSocketEngine()
    {
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var s2 = await TestBackend.StartAsync("s2");
        await using var balancer = await BalancerProcess.StartAsync(Executable, $$"""
            {
              "listeners": [ { "name": "web", "address": "127.0.0.1:0", "mode": "http" } ],
              "admin": { "address": "127.0.0.1:0" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:{{s1.Port}}" }, { "id": "s2", "address": "127.0.0.1:{{s2.Port}}" } ]
            }
            """, start =>
            {
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT");
            });
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var seen = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/item/{i}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            seen.Add(response.Headers.GetValues("X-Backend").Single());
        }

        using var stats = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{balancer.AdminPort}/api/stats"));
        var root = stats.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EquivalentTo(new[] { "s1", "s2" }));
            Assert.That(root.GetProperty("totals").GetProperty("requests").GetInt64(), Is.EqualTo(20));
            Assert.That(root.GetProperty("backends").EnumerateArray().Sum(b => b.GetProperty("requests").GetInt64()), Is.EqualTo(20));
            Assert.That(root.GetProperty("process").GetProperty("inlineSocketCompletions").GetBoolean(), Is.True,
                "the shipped binary turns inline socket completions on by itself");
            Assert.That(root.GetProperty("process").GetProperty("socketEngineThreads").GetString(),
                Is.EqualTo(Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                "one epoll thread per two cores");
        });
    }

    [Test]
    public async Task Validate_OnABadFile_ExitsTwo_AndNamesEachError()
    {
        string config = Path.Combine(Path.GetTempPath(), $"pipebalancer-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{ "listeners": [], "backends": [ { "id": "a", "address": "x" } ] }""");
        try
        {
            var start = new ProcessStartInfo(Executable, ["validate", config]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(start)!;
            string stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.Multiple(() =>
            {
                Assert.That(process.ExitCode, Is.EqualTo(2));
                Assert.That(stderr, Does.Contain("listeners: needs at least one entry"));
                Assert.That(stderr, Does.Contain("backends[0].address: must be host:port"));
            });
        }
        finally
        {
            File.Delete(config);
        }
    }
}
