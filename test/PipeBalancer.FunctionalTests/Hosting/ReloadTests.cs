using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>lb.json reloaded while the balancer runs: applied whole, or refused whole.</summary>
public sealed class ReloadTests
{
    private string _dir = "";

    private string ConfigPath => Path.Combine(_dir, "lb.json");

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pb-reload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static string Config(string backends, string listeners = """{ "name": "web", "address": "127.0.0.1:0" }""", string extra = "") => $$"""
        {
          "listeners": [ {{listeners}} ],
          "admin": { "address": "127.0.0.1:0" },
          "health": { "enabled": false },
          {{extra}}
          "backends": [ {{backends}} ]
        }
        """;

    private static string Entry(string id, int port, int weight = 1) =>
        string.Create(CultureInfo.InvariantCulture, $$"""{ "id": "{{id}}", "address": "127.0.0.1:{{port}}", "weight": {{weight}} }""");

    [Test]
    public async Task FiftyReloadsUnderLoad_FailNoRequest_AndLeakNoConnection()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await File.WriteAllTextAsync(ConfigPath, Config($"{Entry("a", a.Port)}, {Entry("b", b.Port)}"));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int ok = 0;
        bool running = true;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            using var client = balancer.CreateClient();
            for (int i = 0; Volatile.Read(ref running) && i < 20_000 && !deadline.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.GetAsync($"/r/{worker}/{i}", deadline.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        failures.Enqueue($"{(int)response.StatusCode} for /r/{worker}/{i}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        })).ToArray();

        // Weights change, c comes and goes, the algorithm and limits change: 50 generations.
        string[] algorithms = ["ring", "maglev", "round-robin", "least-connections", "ring-bounded"];
        for (int round = 1; round <= 50; round++)
        {
            string backends = $"{Entry("a", a.Port, round % 3 + 1)}, {Entry("b", b.Port)}" + (round % 2 == 0 ? $", {Entry("c", c.Port)}" : "");
            string extra = $$"""
                "routing": { "algorithm": "{{algorithms[round % algorithms.Length]}}" },
                "timeouts": { "keepAliveMs": {{60_000 + round}} },
                """;
            await File.WriteAllTextAsync(ConfigPath, Config(backends, extra: extra));
            var result = await balancer.Host.ReloadAsync("test");
            Assert.That(result.Errors, Is.Empty, $"round {round}");
            await Task.Delay(20);
        }

        Volatile.Write(ref running, false);
        await Task.WhenAll(load);
        var state = balancer.State;
        await Eventually.Until(() => state.Counters.OpenConnections == 0, 15);
        var everyBackend = state.Current.Backends.Backends.Concat(state.Retired).ToList();
        await Eventually.Until(() => everyBackend.All(x => x.InFlight == 0 && x.Stats.OpenConnections == (x.Removed ? 0 : x.Pool.IdleCount)), 15);
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "no request failed during 50 reloads");
            Assert.That(ok, Is.GreaterThan(100));
            Assert.That(state.Current.Generation, Is.GreaterThanOrEqualTo(51), "50 reloads applied (the watcher may add one for the same content)");
            Assert.That(state.Current.Config.Routing.Algorithm, Is.EqualTo(PipeBalancer.Routing.RoutingAlgorithm.Ring));
            Assert.That(state.Current.Config.Timeouts.KeepAliveMs, Is.EqualTo(60_050));
            Assert.That(state.Current.Backends.Backends.Select(x => x.Config.Id), Is.EqualTo(new[] { "a", "b", "c" }));
            Assert.That(everyBackend.Where(x => x.Removed).Sum(x => x.Stats.OpenConnections), Is.Zero, "removed backends keep no connection");
            Assert.That(everyBackend.Sum(x => x.Stats.OpenConnections - x.Pool.IdleCount), Is.Zero, "no backend connection is left active");
        });
    }

    [Test]
    public async Task AnInvalidFile_IsRefusedWithEveryError_AndTheRunningConfigurationKept()
    {
        await using var a = await TestBackend.StartAsync("a");
        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port)));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);
        await File.WriteAllTextAsync(ConfigPath, Config($"{Entry("a", a.Port, weight: 0)}, {Entry("a", 1)}"));

        var result = await balancer.Host.ReloadAsync("test");
        using var admin = balancer.CreateAdminClient();
        using var viaApi = await admin.PostAsync("/api/reload", null);
        using var problem = JsonDocument.Parse(await viaApi.Content.ReadAsStringAsync());
        using var client = balancer.CreateClient();
        using var response = await client.GetAsync("/still");
        Assert.Multiple(() =>
        {
            Assert.That(result.Errors.Select(e => e.Path), Is.SupersetOf(new[] { "backends[0].weight", "backends[1].id" }));
            Assert.That(viaApi.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(problem.RootElement.GetProperty("errors").GetArrayLength(), Is.EqualTo(result.Errors.Count));
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(1), "nothing was applied");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the running configuration still serves");
        });
    }

    [Test]
    public async Task AChangedFile_IsReloadedByTheWatcher()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port)));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);

        // As an editor saves: a new file renamed over the old one.
        string temp = ConfigPath + ".tmp";
        await File.WriteAllTextAsync(temp, Config($"{Entry("a", a.Port)}, {Entry("b", b.Port)}"));
        File.Move(temp, ConfigPath, overwrite: true);
        await Eventually.Until(() => balancer.State.Current.Backends.Backends.Count == 2);
        Assert.That(balancer.State.Current.Generation, Is.EqualTo(2));
    }

    [Test]
    public async Task Reload_StartsANewListener_AndStopsARemovedOne()
    {
        await using var a = await TestBackend.StartAsync("a");
        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port)));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);
        var first = balancer.EndPoint;

        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port), listeners: """{ "name": "second", "address": "127.0.0.1:0", "mode": "tcp" }"""));
        var result = await balancer.Host.ReloadAsync("test");
        Assert.That(result.Errors, Is.Empty);
        var second = balancer.Host.EndPoint("second");

        using var tcp = await RawClient.ConnectAsync(second);
        await tcp.SendAsync("GET /via-tcp HTTP/1.1\r\nHost: x\r\n\r\n");
        var answer = await tcp.ReadResponseAsync();
        await Eventually.Until(() => !RawClient.Accepts(first));
        Assert.Multiple(() =>
        {
            Assert.That(balancer.Host.ListenerNames, Is.EqualTo(new[] { "second" }));
            Assert.That(answer!.Header("X-Backend"), Is.EqualTo("a"), "the new tcp listener splices to the backend");
            Assert.That(RawClient.Accepts(first), Is.False, "the removed listener no longer accepts");
        });
    }

    [Test]
    public async Task Reload_ChangingAListenersMode_ReplacesItOnTheSameAddress()
    {
        await using var a = await TestBackend.StartAsync("a");
        int port = RawBackend.UnusedPort();
        string Listener(string mode) => $$"""{ "name": "web", "address": "127.0.0.1:{{port}}", "mode": "{{mode}}" }""";
        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port), Listener("http")));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string viaHttp = await client.GetStringAsync($"http://127.0.0.1:{port}/headers");

        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port), Listener("tcp")));
        var result = await balancer.Host.ReloadAsync("test");
        string? viaTcp = null;
        await Eventually.Until(() =>
        {
            try
            {
                using var fresh = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                viaTcp = fresh.GetStringAsync($"http://127.0.0.1:{port}/headers").GetAwaiter().GetResult();
                return !viaTcp.Contains("X-Forwarded-For", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
        Assert.Multiple(() =>
        {
            Assert.That(result.Errors, Is.Empty);
            Assert.That(viaHttp, Does.Contain("X-Forwarded-For: 127.0.0.1"), "http mode adds the forwarding fields");
            Assert.That(viaTcp, Does.Not.Contain("X-Forwarded-For"), "tcp mode passes the bytes as they are");
        });
    }

    [Test]
    public async Task Reload_WithAnAddressInUse_ChangesNothing()
    {
        await using var a = await TestBackend.StartAsync("a");
        await File.WriteAllTextAsync(ConfigPath, Config(Entry("a", a.Port)));
        await using var balancer = await TestBalancer.StartFromFileAsync(ConfigPath);
        await using var b = await TestBackend.StartAsync("b");
        string listeners = $$"""{ "name": "web", "address": "127.0.0.1:0" }, { "name": "taken", "address": "127.0.0.1:{{a.Port}}" }""";
        await File.WriteAllTextAsync(ConfigPath, Config($"{Entry("a", a.Port)}, {Entry("b", b.Port)}", listeners));
        var result = await balancer.Host.ReloadAsync("test");
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.False);
            Assert.That(result.Errors.Single().Reason, Is.EqualTo($"listener taken: cannot listen on 127.0.0.1:{a.Port}: address already in use"));
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(1));
            Assert.That(balancer.State.Current.Backends.Backends, Has.Count.EqualTo(1), "the backends were not changed either");
        });
    }
}
