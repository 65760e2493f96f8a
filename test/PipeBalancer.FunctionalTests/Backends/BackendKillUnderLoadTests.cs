using System.Collections.Concurrent;
using System.Net;
using System.Text;
using PipeBalancer.Backends;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

/// <summary>
/// A backend dies while eight keep-alive connections send a bounded run of GETs: no request
/// fails, the dead backend's keys go to their clockwise neighbours, no other key moves, and
/// after the backend returns its keys come back once the health checks pass.
/// </summary>
[NonParallelizable]
public sealed class BackendKillUnderLoadTests
{
    private const int Requests = 5000;
    private const int Connections = 8;
    private const int Paths = 200;

    [Test]
    public async Task KillingABackendUnderLoad_FailsNoRequest_AndMovesOnlyItsKeys()
    {
        var s1 = await TestBackend.StartAsync("s1");
        await using var s2 = await TestBackend.StartAsync("s2");
        await using var s3 = await TestBackend.StartAsync("s3");
        int s1Port = s1.Port;
        await using var balancer = await TestBalancer.StartAsync(
            [("s1", s1Port), ("s2", s2.Port), ("s3", s3.Port)],
            c => c with
            {
                Health = c.Health with { Enabled = true, IntervalMs = 100, TimeoutMs = 200, Rise = 2, Fall = 2, Jitter = 0, MaxBackoffMs = 200 },
                Circuit = c.Circuit with { CooldownMs = 300, MaxCooldownMs = 300 },
            });
        var set = balancer.State.Current.Backends;
        await Eventually.Until(() => set.Backends.All(b => b.Health == HealthStatus.Healthy));

        var router = set.Router;
        var all = new PipeBalancer.Routing.AllEligibleView(3);
        var paths = Enumerable.Range(0, Paths).Select(i => $"/load/{i}").ToArray();
        var owner = paths.ToDictionary(p => p, p => router.Servers[router.Select(Encoding.ASCII.GetBytes(p), all)].Id);
        var firstClockwise = paths.ToDictionary(p => p, p =>
        {
            // Where each of s1's keys goes when s1 is out: the next server clockwise.
            var view = new OneDown(3, 0);
            return router.Servers[router.Select(Encoding.ASCII.GetBytes(p), view)].Id;
        });

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Connections, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = balancer.Url,
            Timeout = TimeSpan.FromSeconds(30),
        };
        int sent = 0;
        var failures = new ConcurrentQueue<string>();
        var servedAfterDeath = new ConcurrentQueue<(string Path, string Backend)>();
        // The first half of the requests run with s1 alive; s1 is killed while they are in
        // flight; the second half waits for the kill, so it all meets a dead s1 (first found
        // by refused connections, then by the health checks).
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var killer = Task.Run(async () =>
        {
            await Eventually.Until(() => Volatile.Read(ref sent) >= Requests / 3);
            await s1.DisposeAsync();
            killed.SetResult();
        });
        var workers = Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref sent)) <= Requests)
            {
                string path = paths[n % Paths];
                if (n > Requests / 2)
                {
                    await killed.Task;
                }

                bool wasDown = killed.Task.IsCompleted;
                try
                {
                    using var response = await client.GetAsync(path);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{path}: {(int)response.StatusCode}");
                    }
                    else if (wasDown)
                    {
                        servedAfterDeath.Enqueue((path, response.Headers.GetValues("X-Backend").Single()));
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"{path}: {e.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        await killer;
        await Eventually.Until(() => set[0].Health == HealthStatus.Unhealthy);

        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "no request failed");
            Assert.That(servedAfterDeath, Is.Not.Empty);
            foreach (var (path, backend) in servedAfterDeath)
            {
                string expected = owner[path] == "s1" ? firstClockwise[path] : owner[path];
                Assert.That(backend, Is.EqualTo(expected), $"{path} (owner {owner[path]})");
            }
        });

        await using var again = await TestBackend.StartAsync("s1", s1Port);
        await Eventually.Until(() => set[0].Health == HealthStatus.Healthy);
        foreach (string path in paths.Where(p => owner[p] == "s1"))
        {
            using var response = await client.GetAsync(path);
            Assert.That(response.Headers.GetValues("X-Backend").Single(), Is.EqualTo("s1"), $"{path} returned to its owner");
        }
    }


    private sealed class OneDown(int servers, int down) : PipeBalancer.Routing.IServerView
    {
        public int EligibleCount => servers - 1;

        public int TotalInFlight => 0;

        public bool IsEligible(int server) => server != down;

        public int InFlight(int server) => 0;
    }
}
