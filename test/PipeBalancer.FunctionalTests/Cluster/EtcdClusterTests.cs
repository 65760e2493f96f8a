using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PipeBalancer.Commands;
using PipeBalancer.Configuration;
using PipeBalancer.Discovery;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Cluster;

/// <summary>
/// Three balancers sharing one prefix in a real three-member etcd cluster, under GET load on
/// all three: a change through one admin API is applied by the others, concurrent changes
/// lose nothing, <c>route --from</c> answers alike on every instance, and when etcd members
/// die routing goes on, changes get 503 and the instances catch up afterwards. The tests run
/// in order: the last ones kill etcd members.
/// </summary>
[NonParallelizable]
public sealed class EtcdClusterTests
{
    private EtcdCluster _etcd = null!;
    private readonly List<TestBackend> _backends = [];
    private int _prefixes;

    [OneTimeSetUp]
    public async Task StartEtcdAndBackends()
    {
        Assert.That(EtcdCluster.Installed, Is.True, "etcd is not installed: ./build.sh test installs Debian's etcd-server");
        _etcd = await EtcdCluster.StartAsync();
        for (int i = 1; i <= 4; i++)
        {
            _backends.Add(await TestBackend.StartAsync($"s{i}"));
        }
    }

    [OneTimeTearDown]
    public async Task StopEtcdAndBackends()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        await _etcd.DisposeAsync();
    }

    [Test, Order(1)]
    public async Task ChangeThroughOneInstance_IsAppliedByTheOtherTwo()
    {
        await using var trio = await StartTrioAsync();
        await using var load = GetLoad.Start(trio.Select(b => b.Url));
        var (a, b, c) = (trio[0], trio[1], trio[2]);

        using (var added = await PostAsync(a, "/api/servers", $$"""{ "id": "s4", "address": "127.0.0.1:{{_backends[3].Port}}" }"""))
        {
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created), await added.Content.ReadAsStringAsync());
        }

        await ConvergeAsync(trio, config => config.Backends.Any(s => s.Id == "s4"));

        using (var weight = await SendAsync(b, HttpMethod.Put, "/api/servers/s2/weight", """{ "weight": 5 }"""))
        {
            Assert.That(weight.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await ConvergeAsync(trio, config => config.Backends.Single(s => s.Id == "s2").Weight == 5);

        using (var drain = await PostAsync(c, "/api/servers/s3/drain", ""))
        {
            Assert.That(drain.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await ConvergeAsync(trio, config => config.Backends.Single(s => s.Id == "s3").Drain);
        using (var undrain = await PostAsync(a, "/api/servers/s3/undrain", ""))
        {
            Assert.That(undrain.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await ConvergeAsync(trio, config => !config.Backends.Single(s => s.Id == "s3").Drain);
        using (var removed = await SendAsync(b, HttpMethod.Delete, "/api/servers/s4", null))
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        await ConvergeAsync(trio, config => config.Backends.All(s => s.Id != "s4"));

        // Every instance lists the three, each at the revision the others applied.
        using var admin = a.CreateAdminClient();
        await Eventually.Until(() =>
        {
            using var json = JsonDocument.Parse(admin.GetStringAsync(new Uri("/api/cluster", UriKind.Relative)).GetAwaiter().GetResult());
            var instances = json.RootElement.GetProperty("instances").EnumerateArray().ToList();
            return instances.Count == 3 && json.RootElement.GetProperty("agree").GetBoolean() &&
                instances.All(i => i.GetProperty("appliedRevision").GetInt64() == a.State.Cluster!.AppliedRevision);
        });

        await load.StopAsync();
        Assert.Multiple(() =>
        {
            Assert.That(load.Failures, Is.Empty);
            Assert.That(load.Succeeded, Is.GreaterThan(0));
        });
    }

    [Test, Order(2)]
    public async Task ConcurrentChanges_FromAllInstances_LoseNone()
    {
        await using var trio = await StartTrioAsync();
        await using var load = GetLoad.Start(trio.Select(b => b.Url));

        // Five additions through each instance at once, all racing for the same key: drained,
        // so that the load never routes to their (closed) ports.
        var calls = new List<Task<HttpResponseMessage>>();
        for (int instance = 0; instance < 3; instance++)
        {
            for (int j = 0; j < 5; j++)
            {
                int port = 40_000 + (instance * 10) + j;
                calls.Add(PostAsync(trio[instance], "/api/servers", $$"""{ "id": "c{{instance}}-{{j}}", "address": "127.0.0.1:{{port}}", "drain": true }"""));
            }
        }

        var responses = await Task.WhenAll(calls);
        foreach (var response in responses)
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
            response.Dispose();
        }

        await ConvergeAsync(trio, config => Enumerable.Range(0, 3).All(i => Enumerable.Range(0, 5).All(j => config.Backends.Any(s => s.Id == $"c{i}-{j}"))));
        Assert.That(trio.Select(t => t.State.Current.Config.Backends.Count), Is.All.EqualTo(3 + 15));

        await load.StopAsync();
        Assert.That(load.Failures, Is.Empty);
    }

    [Test, Order(3)]
    public async Task RouteFrom_EachInstance_PlacesEveryKeyAlike()
    {
        await using var trio = await StartTrioAsync();
        using (var added = await PostAsync(trio[1], "/api/servers", $$"""{ "id": "s4", "address": "127.0.0.1:{{_backends[3].Port}}", "weight": 2 }"""))
        {
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }

        await ConvergeAsync(trio, config => config.Backends.Any(s => s.Id == "s4"));
        var keys = new StringBuilder();
        for (int i = 0; i < 100_000; i++)
        {
            keys.Append(CultureInfo.InvariantCulture, $"/users/{i}\n");
        }

        var answers = new List<string>();
        foreach (var balancer in trio)
        {
            Assert.That(CommandLine.TryParse(["route", "--from", balancer.AdminUrl.ToString()], out var line, out string? error), Is.True, error);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            int code = await RouteCommand.RunAsync(line!, new StringReader(keys.ToString()), stdout, stderr);
            Assert.That(code, Is.EqualTo(0), stderr.ToString());
            answers.Add(stdout.ToString());
        }

        var lines = answers[0].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(100_000));
            Assert.That(answers[1], Is.EqualTo(answers[0]));
            Assert.That(answers[2], Is.EqualTo(answers[0]));

            // The backend added at runtime takes keys: the answer is the shared set, not the file's.
            Assert.That(lines.Count(l => l.EndsWith("\ts4", StringComparison.Ordinal)), Is.GreaterThan(10_000));
        });
    }

    [Test, Order(4)]
    public async Task FileReload_AppliesEverySectionButTheSharedBackends()
    {
        await using var trio = await StartTrioAsync();
        string prefix = trio[0].State.Cluster!.Prefix;
        string file = Path.Combine(Path.GetTempPath(), $"pipebalancer-cluster-{Guid.NewGuid():N}.json");
        try
        {
            await File.WriteAllTextAsync(file, FileConfig(prefix, retries: 2, weightOfS1: 1));
            var fromFile = await TestBalancer.StartFromFileAsync(file);
            trio.Add(fromFile); // disposed with the trio
            using (var added = await PostAsync(trio[0], "/api/servers", $$"""{ "id": "s4", "address": "127.0.0.1:{{_backends[3].Port}}" }"""))
            {
                Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            }

            await ConvergeAsync(trio, config => config.Backends.Any(s => s.Id == "s4"));

            // The file now says other retries and another weight for s1: the retries apply, the
            // backends stay the shared ones (s4 included, s1 at weight 1).
            await File.WriteAllTextAsync(file, FileConfig(prefix, retries: 0, weightOfS1: 9));
            var result = await fromFile.Host.ReloadAsync("test");
            Assert.That(result.Errors, Is.Empty);
            var config = fromFile.State.Current.Config;
            Assert.Multiple(() =>
            {
                Assert.That(config.Retries.Max, Is.EqualTo(0));
                Assert.That(config.Backends.Select(b => b.Id), Is.EqualTo(new[] { "s1", "s2", "s3", "s4" }));
                Assert.That(config.Backends[0].Weight, Is.EqualTo(1));
                Assert.That(trio.Take(3).Select(t => t.State.Current.Config.Backends[0].Weight), Is.All.EqualTo(1), "a reload changes no other instance");
            });
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test, Order(5)]
    public async Task HundredChanges_ConvergeOnEveryInstance()
    {
        await using var trio = await StartTrioAsync();
        var converged = new List<double>();
        for (int i = 0; i < 100; i++)
        {
            var writer = trio[i % 3];
            var clock = Stopwatch.StartNew();
            using (var response = await SendAsync(writer, HttpMethod.Put, "/api/servers/s1/weight", $$"""{ "weight": {{2 + (i % 2)}} }"""))
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            long committed = writer.State.Cluster!.AppliedRevision;
            while (trio.Any(t => t.State.Cluster!.AppliedRevision < committed))
            {
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), $"change {i} not applied everywhere");
                await Task.Delay(1);
            }

            converged.Add(clock.Elapsed.TotalMilliseconds);
            Assert.That(trio.Select(t => t.State.Current.Config.Backends[0].Weight), Is.All.EqualTo(2 + (i % 2)));
        }

        converged.Sort();
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"etcd convergence over 100 changes (admin call sent to all three applied): p50 {converged[49]:F1} ms, p99 {converged[98]:F1} ms, max {converged[99]:F1} ms"));
    }

    [Test, Order(6)]
    public async Task BackendsFoundThroughDns_AreNotStored_EachInstanceKeepsItsOwn()
    {
        // Two instances that share s1..s3 and each find d1 through DNS themselves.
        await using var found = await TestBackend.StartAsync("d1.web.test");
        await using var dns = await DnsmasqServer.StartAsync([new SrvRecord("_http._tcp.web.test", found.Id, found.Port, 10)]);
        string prefix = $"/test-{Interlocked.Increment(ref _prefixes)}-{Guid.NewGuid():N}/";
        await using var duo = new Trio();
        for (int i = 0; i < 2; i++)
        {
            string name = $"lb-dns-{(char)('a' + i)}";
            duo.Add(await TestBalancer.StartAsync(_backends.Take(3).Select(b => (b.Id, b.Port)), config => config with
            {
                Cluster = new ClusterConfig(_etcd.Endpoints) { Prefix = prefix, Name = name, LeaseTtlSeconds = 3, RequestTimeoutMs = 1000 },
                Discovery = [new DiscoveryConfig("web") { Srv = "_http._tcp.web.test", Resolver = new HostPort("127.0.0.1", dns.Port), TimeoutMs = 300, MinRefreshMs = 200, MaxRefreshMs = 1000 }],
            }));
        }

        string foundId = BackendIdentity.Of(found.Id, found.Port);
        await ConvergeAsync(duo, config => config.Backends.Any(b => b.Id == foundId && b.Group == "web"));

        // An edit through one instance writes the shared set: the listed backends only.
        using (var weight = await SendAsync(duo[0], HttpMethod.Put, "/api/servers/s2/weight", """{ "weight": 3 }"""))
        {
            Assert.That(weight.StatusCode, Is.EqualTo(HttpStatusCode.OK), await weight.Content.ReadAsStringAsync());
        }

        await ConvergeAsync(duo, config => config.Backends.Single(s => s.Id == "s2").Weight == 3);
        string? stored = await _etcd.ReadAsync(prefix + "backends");
        Assert.That(stored, Is.Not.Null, "the edit was stored");
        using var shared = JsonDocument.Parse(stored!);
        var entries = shared.RootElement.GetProperty("backends").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(entries.Select(e => e.GetProperty("id").GetString()), Is.EqualTo(new[] { "s1", "s2", "s3" }), "only the listed backends are shared");
            Assert.That(entries.Single(e => e.GetProperty("id").GetString() == "s2").GetProperty("weight").GetInt32(), Is.EqualTo(3));
            foreach (var balancer in duo)
            {
                var backends = balancer.State.Current.Config.Backends;
                Assert.That(backends.Where(b => b.Group == "web").Select(b => b.Id), Is.EqualTo(new[] { foundId }), "each instance keeps what it found");
                Assert.That(backends.Where(b => b.Group is null).Select(b => b.Id), Is.EquivalentTo(new[] { "s1", "s2", "s3" }));
            }
        });

        // A change of the records reaches both instances through their own lookups, not etcd.
        await using var second = await TestBackend.StartAsync("d2.web.test");
        await dns.SetRecordsAsync([new SrvRecord("_http._tcp.web.test", found.Id, found.Port, 10), new SrvRecord("_http._tcp.web.test", second.Id, second.Port, 10)]);
        string secondId = BackendIdentity.Of(second.Id, second.Port);
        await ConvergeAsync(duo, config => config.Backends.Any(b => b.Id == secondId), seconds: 30);
        string? after = await _etcd.ReadAsync(prefix + "backends");
        Assert.That(after, Is.EqualTo(stored), "a DNS change writes nothing to etcd");
    }

    [Test, Order(6)]
    public async Task InstanceCutOffWhileHistoryIsCompacted_ReadsEverythingAgain()
    {
        // The third instance talks to member 2 only: killing it cuts that instance off.
        await using var trio = await StartTrioAsync(thirdOnlyOn: 2);
        await using var load = GetLoad.Start(trio.Select(b => b.Url));
        _etcd.Kill(2);
        await Eventually.Until(() => trio[2].State.Cluster!.StaleSince is not null, seconds: 15);
        for (int weight = 2; weight <= 6; weight++)
        {
            using var response = await SendAsync(trio[0], HttpMethod.Put, "/api/servers/s1/weight", $$"""{ "weight": {{weight}} }""");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(trio[2].State.Current.Config.Backends[0].Weight, Is.EqualTo(1), "cut off, it routes on what it had");
        await _etcd.CompactAsync(through: 0);
        _etcd.Restart(2);
        await _etcd.WaitHealthyAsync(2);
        await ConvergeAsync(trio, config => config.Backends[0].Weight == 6, seconds: 20);
        await Eventually.Until(() => trio[2].State.Cluster!.StaleSince is null, seconds: 15);

        await load.StopAsync();
        Assert.That(load.Failures, Is.Empty);
    }

    [Test, Order(7)]
    public async Task EtcdLeaderKilled_ThenEveryMember_RoutingGoesOn_ChangesGet503_AndInstancesCatchUp()
    {
        await using var trio = await StartTrioAsync();
        await using var load = GetLoad.Start(trio.Select(b => b.Url));

        // The leader dies: a change goes through once the others elected a new one.
        int leader = await _etcd.LeaderAsync();
        _etcd.Kill(leader);
        await UntilAcceptedAsync(trio[1], "/api/servers/s2/weight", """{ "weight": 4 }""");
        await ConvergeAsync(trio, config => config.Backends.Single(s => s.Id == "s2").Weight == 4, seconds: 20);
        _etcd.Restart(leader);
        await _etcd.WaitHealthyAsync(leader);

        // Every member dies: routing goes on, /readyz stays ready, changes get 503 saying why.
        for (int i = 0; i < 3; i++)
        {
            _etcd.Kill(i);
        }

        await Eventually.Until(() => trio.All(t => t.State.Cluster!.StaleSince is not null), seconds: 15);
        using (var refused = await SendAsync(trio[0], HttpMethod.Put, "/api/servers/s2/weight", """{ "weight": 7 }"""))
        {
            string body = await refused.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
                Assert.That(body, Does.Contain("etcd has been unreachable since"));
            });
        }

        foreach (var balancer in trio)
        {
            using var admin = balancer.CreateAdminClient();
            using var ready = await admin.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var stats = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/api/stats", UriKind.Relative)));
            var cluster = stats.RootElement.GetProperty("cluster");
            Assert.Multiple(() =>
            {
                Assert.That(cluster.GetProperty("stale").GetBoolean(), Is.True);
                Assert.That(cluster.GetProperty("staleSince").ValueKind, Is.EqualTo(JsonValueKind.String));
            });
            string metrics = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.That(metrics, Does.Match(@"pipebalancer_cluster_stale\{[^}]*\} 1"));
        }

        Assert.That(trio.Select(t => t.State.Current.Config.Backends.Single(s => s.Id == "s2").Weight), Is.All.EqualTo(4), "the last applied state is kept");

        // etcd back: the instances catch up and take changes again.
        for (int i = 0; i < 3; i++)
        {
            _etcd.Restart(i);
        }

        for (int i = 0; i < 3; i++)
        {
            await _etcd.WaitHealthyAsync(i);
        }

        await Eventually.Until(() => trio.All(t => t.State.Cluster!.StaleSince is null), seconds: 20);
        await UntilAcceptedAsync(trio[2], "/api/servers/s2/weight", """{ "weight": 7 }""");
        await ConvergeAsync(trio, config => config.Backends.Single(s => s.Id == "s2").Weight == 7);

        await load.StopAsync();
        Assert.Multiple(() =>
        {
            Assert.That(load.Failures, Is.Empty);
            Assert.That(load.Succeeded, Is.GreaterThan(0));
        });
    }

    private string FileConfig(string prefix, int retries, int weightOfS1) => $$"""
        {
          "listeners": [ { "name": "web", "address": "127.0.0.1:0" } ],
          "admin": { "address": "127.0.0.1:0" },
          "health": { "enabled": false },
          "retries": { "max": {{retries}} },
          "backends": [
            { "id": "s1", "address": "127.0.0.1:{{_backends[0].Port}}", "weight": {{weightOfS1}} },
            { "id": "s2", "address": "127.0.0.1:{{_backends[1].Port}}" },
            { "id": "s3", "address": "127.0.0.1:{{_backends[2].Port}}" }
          ],
          "cluster": { "endpoints": [ {{string.Join(", ", _etcd.Endpoints.Select(e => $"\"{e}\""))}} ], "prefix": "{{prefix}}", "name": "lb-file", "leaseTtlSeconds": 3, "requestTimeoutMs": 1000 }
        }
        """;

    // Three balancers over s1..s3 sharing a fresh prefix; with thirdOnlyOn, the third talks to that member alone.
    private async Task<Trio> StartTrioAsync(int? thirdOnlyOn = null)
    {
        string prefix = $"/test-{Interlocked.Increment(ref _prefixes)}-{Guid.NewGuid():N}/";
        var trio = new Trio();
        for (int i = 0; i < 3; i++)
        {
            IReadOnlyList<string> endpoints = i == 2 && thirdOnlyOn is { } only ? [_etcd.Endpoints[only]] : _etcd.Endpoints;
            string name = $"lb-{(char)('a' + i)}";
            trio.Add(await TestBalancer.StartAsync(_backends.Take(3).Select(b => (b.Id, b.Port)), config => config with
            {
                Cluster = new ClusterConfig(endpoints) { Prefix = prefix, Name = name, LeaseTtlSeconds = 3, RequestTimeoutMs = 1000 },
            }));
        }

        return trio;
    }

    private static async Task ConvergeAsync(Trio trio, Func<BalancerConfig, bool> applied, int seconds = 10) =>
        await Eventually.Until(() => trio.All(t => applied(t.State.Current.Config)), seconds);

    // A change retried while etcd elects a leader (503), until it is taken (bounded).
    private static async Task UntilAcceptedAsync(TestBalancer balancer, string path, string body)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await SendAsync(balancer, HttpMethod.Put, path, body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), await response.Content.ReadAsStringAsync());
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "the change was never taken");
            await Task.Delay(100);
        }
    }

    private static Task<HttpResponseMessage> PostAsync(TestBalancer balancer, string path, string body) => SendAsync(balancer, HttpMethod.Post, path, body);

    private static async Task<HttpResponseMessage> SendAsync(TestBalancer balancer, HttpMethod method, string path, string? body)
    {
        using var admin = balancer.CreateAdminClient();
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await admin.SendAsync(request);
    }

    private sealed class Trio : List<TestBalancer>, IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var balancer in this)
            {
                await balancer.DisposeAsync();
            }
        }
    }
}
