using Microsoft.Extensions.Logging.Abstractions;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Runtime;

public sealed class ProxyStateTests
{
    private static BalancerConfig Config(int backends) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            TestBackends.Make(backends))
        {
            Health = HealthConfig.Default with { Enabled = false },
        };

    [Test]
    public async Task Apply_SwapsOneSnapshot_CountsGenerations_AndRetiresRemovedBackends()
    {
        var config = Config(3);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var first = state.Current;
        var removed = first.Backends[2];

        var second = state.Apply(config with { Backends = config.Backends.Take(2).ToArray() }, runtimeEdit: false);
        Assert.Multiple(() =>
        {
            Assert.That(state.Current, Is.SameAs(second));
            Assert.That(first.Generation, Is.EqualTo(1));
            Assert.That(second.Generation, Is.EqualTo(2));
            Assert.That(first.Backends.Backends, Has.Count.EqualTo(3), "a request that read the old snapshot keeps all of it");
            Assert.That(second.Backends[0], Is.SameAs(first.Backends[0]));
            Assert.That(removed.Removed && removed.Draining, Is.True);
            Assert.That(state.Retired, Is.EqualTo(new[] { removed }));
        });
    }

    [Test]
    public async Task BackendsRemovedWithNewAddressesEveryTime_KeepTheListBounded_AndTheirCountsInTheTotals()
    {
        // As DNS churn does: every change brings a backend at a new address and removes the last one.
        var config = Config(1);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        int rounds = ProxyState.RetiredKept + 100;
        for (int round = 1; round <= rounds; round++)
        {
            var current = state.Current.Backends[0];
            current.RecordFailure(PipeBalancer.Backends.BackendErrorKind.Reset);
            current.Stats.Response(200, System.Diagnostics.Stopwatch.GetTimestamp());
            current.Stats.Transferred(10, 100);
            var next = new BackendConfig($"churn-{round}", new HostPort("127.0.0.1", 20_000 + round));
            state.Apply(config with { Backends = [next] }, runtimeEdit: false);
        }

        var retired = state.Retired;
        var folded = state.RetiredTotals;
        Assert.Multiple(() =>
        {
            Assert.That(retired, Has.Count.EqualTo(ProxyState.RetiredKept), "the newest removals are kept one by one");
            Assert.That(retired[^1].Config.Id, Is.EqualTo($"churn-{rounds - 1}"));
            Assert.That(folded.Errors(PipeBalancer.Backends.BackendErrorKind.Reset) + retired.Sum(b => b.Stats.Errors(PipeBalancer.Backends.BackendErrorKind.Reset)), Is.EqualTo(rounds), "no count is lost");
            Assert.That(folded.Responses(1) + retired.Sum(b => b.Stats.Responses(1)), Is.EqualTo(rounds));
            Assert.That(folded.BytesSent + retired.Sum(b => b.Stats.BytesSent), Is.EqualTo(10L * rounds));
            Assert.That(folded.BytesReceived + retired.Sum(b => b.Stats.BytesReceived), Is.EqualTo(100L * rounds));
            Assert.That(folded.Errors(PipeBalancer.Backends.BackendErrorKind.Reset), Is.EqualTo(rounds - ProxyState.RetiredKept));
        });
    }

    [Test]
    public async Task ABackendAddedBack_TakesItsObjectAgain_SoRetiredOnesDoNotPileUp()
    {
        var config = Config(3);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var third = state.Current.Backends[2];
        third.RecordFailure(PipeBalancer.Backends.BackendErrorKind.Reset);
        for (int round = 0; round < 10; round++)
        {
            state.Apply(config with { Backends = config.Backends.Take(2).ToArray() }, runtimeEdit: false);
            state.Apply(config, runtimeEdit: false);
        }

        Assert.Multiple(() =>
        {
            Assert.That(state.Current.Backends[2], Is.SameAs(third));
            Assert.That(third.Removed || third.Draining, Is.False, "back in service");
            Assert.That(third.Failures, Is.EqualTo(1), "with its counters");
            Assert.That(state.Retired, Is.Empty);
            Assert.That(state.Current.Generation, Is.EqualTo(21));
        });
    }

    [Test]
    public async Task Edit_MarksWhatItChanged_AndAFileApplyClearsIt()
    {
        var config = Config(2);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var result = state.Edit(c => ConfigLoader.SetWeight(c, "s2", """{ "weight": 4 }"""));
        Assert.That(result.IsValid, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(state.Current.ChangedAtRuntime, Is.True);
            Assert.That(state.Current.Backends[1].ChangedAtRuntime, Is.True);
            Assert.That(state.Current.Backends[0].ChangedAtRuntime, Is.False);
            Assert.That(state.Current.Backends[1].Config.Weight, Is.EqualTo(4));
        });

        state.Apply(config, runtimeEdit: false);
        Assert.Multiple(() =>
        {
            Assert.That(state.Current.ChangedAtRuntime, Is.False, "the file replaces runtime changes");
            Assert.That(state.Current.Backends[1].ChangedAtRuntime, Is.False);
            Assert.That(state.Current.Backends[1].Config.Weight, Is.EqualTo(1));
            Assert.That(state.Current.Generation, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Edit_Invalid_ChangesNothing()
    {
        var config = Config(2);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var before = state.Current;
        var result = state.Edit(c => ConfigLoader.SetWeight(c, "s2", """{ "weight": 0 }"""));
        Assert.That(result.IsValid, Is.False);
        Assert.That(state.Current, Is.SameAs(before));
    }
}
