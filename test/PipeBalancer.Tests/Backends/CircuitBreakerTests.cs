using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Backends;

namespace PipeBalancer.Tests.Backends;

public sealed class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new();

    [Test]
    public void ConsecutiveFailures_OpenTheCircuit_AndSuccessInBetweenResetsTheCount()
    {
        var breaker = new CircuitBreaker(3, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), _time);
        breaker.Failure();
        breaker.Failure();
        breaker.Success();
        breaker.Failure();
        breaker.Failure();
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
        Assert.That(breaker.Failure(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
            Assert.That(breaker.TryAdmit(), Is.False);
            Assert.That(breaker.Allows, Is.False);
        });
    }

    [Test]
    public void AfterTheCooldown_OneTrialPasses_SuccessCloses()
    {
        var breaker = Opened();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.HalfOpen));
            Assert.That(breaker.TryAdmit(), Is.True, "the trial");
            Assert.That(breaker.TryAdmit(), Is.False, "only one trial");
        });
        breaker.Success();
        Assert.Multiple(() =>
        {
            Assert.That(breaker.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(breaker.TryAdmit(), Is.True);
        });
    }

    [Test]
    public void FailedTrials_ReopenWithADoublingCooldownUpToTheCap()
    {
        var breaker = Opened();
        var cooldowns = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            cooldowns.Add(breaker.Cooldown.TotalSeconds);
            _time.Advance(breaker.Cooldown);
            Assert.That(breaker.TryAdmit(), Is.True);
            Assert.That(breaker.Failure(), Is.True, "a failed trial reopens at once");
        }

        Assert.That(cooldowns, Is.EqualTo(new[] { 5.0, 10.0, 20.0, 40.0, 60.0, 60.0 }));
        _time.Advance(breaker.Cooldown);
        breaker.TryAdmit();
        breaker.Success();
        Assert.That(breaker.Cooldown.TotalSeconds, Is.EqualTo(5), "a success resets the cool-down");
    }

    [Test]
    public void StillOpen_BeforeTheCooldownEnds()
    {
        var breaker = Opened();
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.That(breaker.State, Is.EqualTo(CircuitState.Open));
    }

    [Test]
    public void PassingActiveCheck_ClosesAHalfOpenCircuit()
    {
        var backend = new Backend(TestBackends.Backend("b", 1), 4, new BackendTotals(false),
            PipeBalancer.Configuration.CircuitConfig.Default with { ConsecutiveFailures = 1, CooldownMs = 1000 }, _time);
        backend.RecordFailure(BackendErrorKind.Reset);
        Assert.That(backend.Eligible, Is.False);
        backend.RecordCheck(_time.GetUtcNow(), HealthCheckResult.Pass(200), HealthStatus.Healthy, out _);
        Assert.That(backend.Circuit.State, Is.EqualTo(CircuitState.Open), "a check during the cool-down does not end it");
        _time.Advance(TimeSpan.FromSeconds(1));
        backend.RecordCheck(_time.GetUtcNow(), HealthCheckResult.Pass(200), HealthStatus.Healthy, out _);
        Assert.Multiple(() =>
        {
            Assert.That(backend.Circuit.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(backend.Eligible, Is.True);
        });
    }

    [Test]
    public void OpeningAndClosing_AreLoggedOnceEach()
    {
        var logger = new ListLogger();
        var backend = new Backend(TestBackends.Backend("b", 1), 4, new BackendTotals(false),
            PipeBalancer.Configuration.CircuitConfig.Default with { ConsecutiveFailures = 2, CooldownMs = 1000 }, _time, logger);
        backend.RecordFailure(BackendErrorKind.Timeout);
        Assert.That(logger.Lines, Is.Empty, "one failure of two opens nothing");
        backend.RecordFailure(BackendErrorKind.Timeout);
        _time.Advance(TimeSpan.FromSeconds(1));
        backend.RecordCheck(_time.GetUtcNow(), HealthCheckResult.Pass(200), HealthStatus.Healthy, out _);
        backend.RecordSuccess();
        Assert.That(logger.Lines, Is.EqualTo(new[]
        {
            "Warning: Backend b (10.0.0.2:8080): circuit opened after consecutive failures (last: Timeout); it gets no requests until the cool-down ends",
            "Information: Backend b (10.0.0.2:8080): circuit closed, the trial request succeeded",
        }));
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Lines.Add($"{logLevel}: {formatter(state, exception)}");
    }

    private CircuitBreaker Opened()
    {
        var breaker = new CircuitBreaker(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), _time);
        breaker.Failure();
        breaker.Failure();
        return breaker;
    }
}
