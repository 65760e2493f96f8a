using System.Runtime.CompilerServices;

namespace PipeBalancer.Runtime;

/// <summary>
/// The state of one waiting call of a <see cref="PooledValueTaskBuilder{TResult}"/> method: its
/// state machine, the execution context it resumes in (none on the proxy path, which runs with
/// flow suppressed) and its completion. Each method (each state machine type) has its own pool,
/// so a box fits the method exactly and a busy step never takes another's boxes.
/// </summary>
internal sealed class PooledValueTaskBox<TResult, TStateMachine> : PooledValueTaskSource<TResult>
    where TStateMachine : IAsyncStateMachine
{
    /// <summary>
    /// Most spare boxes kept per method: more than the calls of one step waiting at once on a
    /// busy balancer (one per client connection with a request in flight), and a bound on the
    /// memory kept after a burst (a box is a few hundred bytes).
    /// </summary>
    internal const int MaxPooled = 4096;

    // Last returned, first rented: the box most likely still in this processor's cache.
    private static readonly PerCoreStack<PooledValueTaskBox<TResult, TStateMachine>> Pool = new(MaxPooled);
    private static readonly ContextCallback RunInContext = static box => ((PooledValueTaskBox<TResult, TStateMachine>)box!).StateMachine.MoveNext();

    private ExecutionContext? _context;

    private PooledValueTaskBox()
    {
        MoveNextAction = MoveNext;
    }

    /// <summary>The method's state machine, copied in when it first waited.</summary>
    public TStateMachine StateMachine = default!;

    /// <summary>Resumes the method (what awaiters are given as continuation).</summary>
    public Action MoveNextAction { get; }

    /// <summary>A spare box of this method's, or a new one.</summary>
    public static PooledValueTaskBox<TResult, TStateMachine> Rent()
    {
        if (Pool.TryPop(out var box))
        {
            return box;
        }

        return new PooledValueTaskBox<TResult, TStateMachine>();
    }

    /// <summary>Keeps the caller's execution context for the resumption (none when flow is suppressed).</summary>
    public void CaptureContext() => _context = ExecutionContext.Capture();

    protected override void Return()
    {
        StateMachine = default!;
        _context = null;
        Pool.TryPush(this);
    }

    private void MoveNext()
    {
        var context = _context;
        if (context is null)
        {
            StateMachine.MoveNext();
        }
        else
        {
            ExecutionContext.Run(context, RunInContext, this);
        }
    }
}
