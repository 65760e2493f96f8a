using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>What a request state back in the pool keeps alive.</summary>
public sealed class RequestStateLifetimeTests
{
    private static BalancerConfig Config(int backends) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            TestBackends.Make(backends))
        {
            Health = HealthConfig.Default with { Enabled = false },
        };

    // A state back in the pool keeps no snapshot alive: not through its backend walk, nor through
    // its rate-limit step (which held the last request's snapshot and limiters).
    [Test]
    public async Task PooledRequestState_KeepsNoOldSnapshotAlive_AfterAReload()
    {
        var config = Config(2);
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var weak = ServeOneRequestAndReturnTheState(state);
        state.Apply(config with { Backends = TestBackends.Make(3) }, runtimeEdit: false);

        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(weak.IsAlive, Is.False, "the snapshot before the reload is still reachable from a pooled RequestState");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ServeOneRequestAndReturnTheState(ProxyState state)
    {
        var pool = state.RequestStates;
        var work = pool.Rent();
        var snapshot = state.Current;
        work.Bind("web", new System.IO.Pipelines.Pipe() is var p ? new Duplex(p) : null!, null, "127.0.0.1"u8.ToArray(), false, null, null);
        Assert.That(work.RateLimits.Check(snapshot, work.Request, [127, 0, 0, 1]), Is.Zero);
        work.Attempt.Begin(snapshot, 1);
        work.Unbind();
        pool.Return(work);
        return new WeakReference(snapshot);
    }

    private sealed class Duplex(System.IO.Pipelines.Pipe pipe) : System.IO.Pipelines.IDuplexPipe
    {
        public System.IO.Pipelines.PipeReader Input => pipe.Reader;

        public System.IO.Pipelines.PipeWriter Output => pipe.Writer;
    }
}
