using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Backends;

public sealed class HealthCheckerTests
{
    [Test]
    public async Task ChecksOnTheClock_TakeADeadBackendOutAndBringItBack()
    {
        var time = new FakeTimeProvider();
        using var set = new BackendSet(Config(3));
        var up = new[] { true, true, true };
        int checks = 0;
        var observer = new RecordingObserver();
        var config = HealthConfig.Default with { IntervalMs = 1000, Rise = 2, Fall = 3, Jitter = 0, MaxBackoffMs = 4000 };
        await using var checker = new HealthChecker(set, config, time, [observer], (backend, _) =>
        {
            Interlocked.Increment(ref checks);
            return Task.FromResult(up[set.Backends.ToList().IndexOf(backend)] ? HealthCheckResult.Pass(200) : HealthCheckResult.UnexpectedStatus(503, 200, 399));
        });
        checker.Start();
        await Until(() => Volatile.Read(ref checks) >= 3);
        await Advance(time, 1000, () => Volatile.Read(ref checks) >= 6);
        Assert.That(set.Backends.Select(b => b.Health), Has.All.EqualTo(HealthStatus.Healthy));

        up[1] = false;
        for (int i = 0; i < 3; i++)
        {
            int expected = Volatile.Read(ref checks) + 3;
            await Advance(time, 1000, () => Volatile.Read(ref checks) >= expected);
        }

        Assert.Multiple(() =>
        {
            Assert.That(set[1].Health, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(set[1].Eligible, Is.False);
            Assert.That(set.EligibleCount, Is.EqualTo(2));
            Assert.That(observer.Changes, Does.Contain(("s2", HealthStatus.Healthy, HealthStatus.Unhealthy)));
        });

        // Keys of the dead backend go to their clockwise neighbours; the others stay.
        var router = set.Router;
        var all = new AllEligibleView(3);
        for (int k = 0; k < 2000; k++)
        {
            uint hash = router.HashKey(System.Text.Encoding.ASCII.GetBytes($"/k/{k}"));
            int owner = router.Select(hash, all);
            int now = router.Select(hash, set);
            Assert.That(now, owner == 1 ? Is.Not.EqualTo(1) : Is.EqualTo(owner));
        }

        up[1] = true;
        time.Advance(TimeSpan.FromSeconds(10));
        await Until(() => set[1].Health == HealthStatus.Healthy, () => time.Advance(TimeSpan.FromSeconds(4)));
        Assert.Multiple(() =>
        {
            Assert.That(set[1].Eligible, Is.True);
            Assert.That(observer.Changes, Does.Contain(("s2", HealthStatus.Unhealthy, HealthStatus.Healthy)));
        });
    }

    [Test]
    public async Task UnknownBackends_TakeNoTraffic_WhenConfiguredSo()
    {
        using var set = new BackendSet(Config(2));
        await using var checker = new HealthChecker(set, HealthConfig.Default with { UnknownTakesTraffic = false }, new FakeTimeProvider(), [],
            (_, _) => Task.FromResult(HealthCheckResult.Pass(200)));
        Assert.Multiple(() =>
        {
            Assert.That(set.EligibleCount, Is.Zero);
            Assert.That(set.Router.Select("/x"u8, set), Is.EqualTo(-1));
        });
    }

    [Test]
    public async Task CheckOutcomes_AreClassified_AndToldOncePerChange()
    {
        var time = new FakeTimeProvider();
        using var set = new BackendSet(Config(1));
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
        var reset = new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.");
        // What each check finds, in order; null is a check that never answers (its timeout ends it).
        Func<CancellationToken, Task<HealthCheckResult>>[] script =
        [
            _ => Task.FromResult(HealthCheckResult.Pass(200)),
            _ => Task.FromResult(HealthCheckResult.Pass(200)),
            _ => Task.FromResult(HealthCheckResult.UnexpectedStatus(503, 200, 399)),
            _ => Task.FromResult(HealthCheckResult.UnexpectedStatus(503, 200, 399)),
            _ => Task.FromResult(HealthCheckResult.UnexpectedStatus(503, 200, 399)),
            _ => Task.FromException<HealthCheckResult>(refused),
            _ => Task.FromException<HealthCheckResult>(refused),
            async token => { await Task.Delay(Timeout.Infinite, token); return HealthCheckResult.Pass(200); },
            _ => Task.FromResult(HealthCheckResult.BodyMismatch(200, "ok")),
            _ => Task.FromException<HealthCheckResult>(reset),
            _ => Task.FromResult(HealthCheckResult.Pass(200)),
            _ => Task.FromResult(HealthCheckResult.Pass(200)),
        ];
        int calls = 0;
        var observer = new RecordingObserver();
        var log = new ListLogger();
        var config = HealthConfig.Default with { IntervalMs = 1000, TimeoutMs = 500, Rise = 1, Fall = 1, Jitter = 0, MaxBackoffMs = 1000 };
        await using var checker = new HealthChecker(set, config, time, [observer, new HealthLog(log)], (_, token) =>
        {
            int call = Interlocked.Increment(ref calls) - 1;
            return call < script.Length ? script[call](token) : Task.FromResult(HealthCheckResult.Pass(200));
        });
        checker.Start();

        // The next check has begun only once the one before is recorded and told.
        await Until(() => Volatile.Read(ref calls) > script.Length, () => time.Advance(TimeSpan.FromMilliseconds(100)));
        Assert.Multiple(() =>
        {
            Assert.That(observer.Outcomes, Is.EqualTo(new[]
            {
                "passed -> status: status 503, expected 200-399 (health.expectStatus)",
                "status -> connect: could not connect: ConnectionRefused",
                "connect -> timeout: no answer within 500 ms (health.timeoutMs)",
                "timeout -> body: status 200, but the body does not contain \"ok\" (health.expectBody)",
                "body -> response: broken response: ResponseEnded",
                "response -> passed: status 200",
            }), "told once per change of outcome, not per check; a first check that passes is not news");
            var outcomeLines = log.Lines.Where(l => l.Contains(" 3004: ", StringComparison.Ordinal) || l.Contains(" 3005: ", StringComparison.Ordinal)).ToList();
            Assert.That(outcomeLines, Has.Count.EqualTo(6), "one line per change of outcome");
            Assert.That(outcomeLines[0], Is.EqualTo($"Warning 3004: Backend s1 ({set[0].Config.Address.Text}): health check failed: status 503, expected 200-399 (health.expectStatus); logged again when the outcome changes"));
            Assert.That(outcomeLines[^1], Does.StartWith($"Information 3005: Backend s1 ({set[0].Config.Address.Text}): health check passes again (status 200)"));
            Assert.That(set[0].LastCheckResult, Is.EqualTo(HealthCheckResult.Pass(200)));
            Assert.That(set[0].Stats.Checks, Is.GreaterThanOrEqualTo(script.Length));
            Assert.That(set[0].Stats.FailedChecks, Is.EqualTo(8));
        });
    }

    [Test]
    public void LastOutcomeSince_IsTheFirstCheckOfTheCurrentOutcome()
    {
        using var set = new BackendSet(Config(1));
        var backend = set[0];
        var t0 = new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
        var down = HealthCheckResult.ConnectFailed("ConnectionRefused");
        bool first = backend.RecordCheck(t0, HealthCheckResult.Pass(200), HealthStatus.Healthy, out var none);
        bool second = backend.RecordCheck(t0.AddSeconds(2), down, HealthStatus.Healthy, out var wasPassing);
        bool third = backend.RecordCheck(t0.AddSeconds(4), HealthCheckResult.ConnectFailed("ConnectionRefused"), HealthStatus.Healthy, out _);
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.True);
            Assert.That(none, Is.Null);
            Assert.That(second, Is.True);
            Assert.That(wasPassing!.Passed, Is.True);
            Assert.That(third, Is.False, "the same outcome again is no change");
            Assert.That(backend.LastOutcomeSince, Is.EqualTo(t0.AddSeconds(2)));
            Assert.That(backend.LastCheck, Is.EqualTo(t0.AddSeconds(4)));
            Assert.That(backend.LastCheckResult, Is.EqualTo(down));
            Assert.That(backend.LastCheckPassed, Is.False);
        });
    }

    [Test]
    public async Task AProbeThatThrowsUnexpectedly_IsReportedOnce_CountsForNoOne_AndChecksGoOn()
    {
        var time = new FakeTimeProvider();
        using var set = new BackendSet(Config(1));
        var observer = new RecordingObserver();
        int calls = 0;
        var config = HealthConfig.Default with { IntervalMs = 1000, Rise = 1, Fall = 1, Jitter = 0, UnknownTakesTraffic = false };
        await using var checker = new HealthChecker(set, config, time, [observer], (_, _) =>
            Interlocked.Increment(ref calls) <= 3
                ? throw new InvalidOperationException("a bug in a probe")
                : Task.FromResult(HealthCheckResult.Pass(200)));
        checker.Start();

        await Until(() => Volatile.Read(ref calls) >= 1);
        Assert.That(set[0].Health, Is.EqualTo(HealthStatus.Unknown), "a broken check says nothing of the backend");
        await Until(() => set[0].Health == HealthStatus.Healthy, () => time.Advance(TimeSpan.FromSeconds(1)));

        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref calls), Is.GreaterThanOrEqualTo(4));
            Assert.That(observer.Faults, Has.Count.EqualTo(1));
            Assert.That(observer.Faults[0], Is.TypeOf<InvalidOperationException>());
        });
    }

    [Test]
    public async Task ChecksThatCannotConnectForWantOfDescriptors_CountForNoOne_AndAreToldOnce()
    {
        var time = new FakeTimeProvider();
        using var set = new BackendSet(Config(1));
        var observer = new RecordingObserver();
        int calls = 0;
        var config = HealthConfig.Default with { IntervalMs = 1000, Rise = 1, Fall = 1, Jitter = 0, UnknownTakesTraffic = false };

        // What SocketsHttpHandler throws when socket() fails with EMFILE.
        var emfile = new HttpRequestException(HttpRequestError.ConnectionError, "Too many open files",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.TooManyOpenSockets));
        await using var checker = new HealthChecker(set, config, time, [observer], (_, _) =>
            Interlocked.Increment(ref calls) <= 3 ? throw emfile : Task.FromResult(HealthCheckResult.Pass(200)));
        checker.Start();

        await Until(() => Volatile.Read(ref calls) >= 3, () => time.Advance(TimeSpan.FromSeconds(1)));
        Assert.That(set[0].Health, Is.EqualTo(HealthStatus.Unknown), "a check never made says nothing of the backend");
        await Until(() => set[0].Health == HealthStatus.Healthy, () => time.Advance(TimeSpan.FromSeconds(1)));

        Assert.Multiple(() =>
        {
            Assert.That(observer.NotMade, Is.EqualTo(1));
            Assert.That(observer.Faults, Is.Empty);
            Assert.That(observer.Changes, Does.Not.Contain(("s1", HealthStatus.Unknown, HealthStatus.Unhealthy)));
        });
    }

    private static async Task Advance(FakeTimeProvider time, int milliseconds, Func<bool> done)
    {
        time.Advance(TimeSpan.FromMilliseconds(milliseconds));
        await Until(done);
    }

    private static async Task Until(Func<bool> condition, Action? nudge = null)
    {
        // Waits for the checker's loops (on the thread pool) to catch up with the fake clock: a
        // bound on waiting, generous enough for a machine busy with other builds, not a timing check.
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && waiting.Elapsed < TimeSpan.FromSeconds(30))
        {
            nudge?.Invoke();
            await Task.Delay(10);
        }

        Assert.That(condition(), Is.True, "condition not reached");
    }

    private static BalancerConfig Config(int backends) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            TestBackends.Make(backends));

    private sealed class RecordingObserver : IHealthObserver
    {
        public List<(string, HealthStatus, HealthStatus)> Changes { get; } = [];

        public List<string> Outcomes { get; } = [];

        public List<Exception> Faults { get; } = [];

        public int NotMade => Volatile.Read(ref _notMade);

        private int _notMade;

        public void OnCheckNotMade(Backend backend, Exception cause) => Interlocked.Increment(ref _notMade);

        public void OnCheckFault(Backend backend, Exception fault)
        {
            lock (Faults)
            {
                Faults.Add(fault);
            }
        }

        public void OnCheckOutcomeChanged(Backend backend, HealthCheckResult? before, HealthCheckResult after)
        {
            lock (Outcomes)
            {
                Outcomes.Add($"{Name(before)} -> {Name(after)}: {after.Reason}");
            }
        }

        private static string Name(HealthCheckResult? result) => result?.Outcome.ToString().ToLowerInvariant() ?? "none";

        public void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after)
        {
            lock (Changes)
            {
                Changes.Add((backend.Config.Id, before, after));
            }
        }
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add($"{logLevel} {eventId.Id}: {formatter(state, exception)}");
            }
        }
    }
}
