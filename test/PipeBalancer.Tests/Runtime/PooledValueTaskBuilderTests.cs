using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Runtime;

public sealed class PooledValueTaskBuilderTests
{
    private const int Concurrent = 64;
    private static readonly AsyncLocal<string?> Flowing = new();

    [Test]
    public async Task Method_ThatCompletesWithoutWaiting_ReturnsItsResult()
    {
        Assert.That(await AddAsync(null, 2), Is.EqualTo(3));
    }

    [Test]
    public async Task Method_ThatWaits_ReturnsItsResultAndThrowsItsException()
    {
        var gate = new Gate();
        var sum = AddAsync(gate, 41);
        Assert.That(sum.IsCompleted, Is.False);
        gate.Release();
        Assert.That(await sum, Is.EqualTo(42));

        var failing = ThrowAfterAsync(gate);
        gate.Release();
        Assert.ThrowsAsync<InvalidOperationException>(async () => await failing);
    }

    [Test]
    public async Task Method_ThatWaits_ResumesInTheCallersExecutionContext()
    {
        Flowing.Value = "caller";
        var gate = new Gate();
        var read = ReadFlowingAfterAsync(gate);
        // Released from a thread-pool item that carries no context of its own.
        ThreadPool.UnsafeQueueUserWorkItem(static g => g.Release(), gate, preferLocal: false);
        Assert.That(await read, Is.EqualTo("caller"));
    }

    [Test]
    public void ManyCallsWaitingAtOnce_AllocateNothing_OnceTheirBoxesArePooled()
    {
        var gates = Enumerable.Range(0, Concurrent).Select(_ => new Gate()).ToArray();
        var calls = new ValueTask<int>[Concurrent];
        int wrong = RunRound(gates, calls);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 10; round++)
        {
            wrong += RunRound(gates, calls);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(wrong, Is.Zero, "calls that had not completed with their result");
        Assert.That(allocated, Is.Zero);
    }

    // Every call waits on its gate, then all are released and their results read; returns how
    // many were not complete with the right result.
    private static int RunRound(Gate[] gates, ValueTask<int>[] calls)
    {
        for (int i = 0; i < calls.Length; i++)
        {
#pragma warning disable CA2012 // Each is consumed once, below, after its gate is released.
            calls[i] = AddAsync(gates[i], i);
#pragma warning restore CA2012
        }

        foreach (var gate in gates)
        {
            gate.Release();
        }

        int wrong = 0;
        for (int i = 0; i < calls.Length; i++)
        {
            if (!calls[i].IsCompleted || calls[i].Result != i + 1)
            {
                wrong++;
            }
        }

        return wrong;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<int> AddAsync(Gate? gate, int value)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        return value + 1;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<int> ThrowAfterAsync(Gate gate)
    {
        await gate.WaitAsync();
        throw new InvalidOperationException("after the wait");
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<string?> ReadFlowingAfterAsync(Gate gate)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        return Flowing.Value;
    }

    // A reusable wait that allocates nothing: released by hand.
    private sealed class Gate : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public ValueTask WaitAsync() => new(this, _core.Version);

        public void Release() => _core.SetResult(true);

        public void GetResult(short token)
        {
            _core.GetResult(token);
            _core.Reset();
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
