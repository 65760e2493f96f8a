using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PipeBalancer.Runtime;

/// <summary>
/// The async method builder for the request path's steps (<c>async ValueTask&lt;T&gt;</c>
/// methods that await a socket on most requests). A method that completes without waiting costs
/// nothing; one that waits keeps its state in a box taken from a pool of that method's own
/// boxes (<see cref="PooledValueTaskBox{TResult, TStateMachine}"/>), given back when its result
/// has been read. The runtime's <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/> keeps
/// one spare box per thread and one per core: with 64 connections waiting in the same step at
/// once, most of them allocated a box on every request (about 160 bytes per request measured
/// over 64 keep-alive connections). A pool per method holds as many boxes as that step ever had
/// waiting at once, up to <see cref="PooledValueTaskBox{TResult, TStateMachine}.MaxPooled"/>.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct PooledValueTaskBuilder<TResult>
{
    // Set when the method first waits; from then on its state machine lives in this box.
    private PooledValueTaskSource<TResult>? _box;
    private TResult _result;
    private Exception? _exception;

    /// <summary>Called by the compiler at the start of the method.</summary>
    public static PooledValueTaskBuilder<TResult> Create() => default;

    /// <summary>The method's task: its result when it completed without waiting, else its box.</summary>
    public ValueTask<TResult> Task
    {
        get
        {
            if (_box is not null)
            {
                return new ValueTask<TResult>(_box, _box.Version);
            }

            return _exception is null ? new ValueTask<TResult>(_result) : ValueTask.FromException<TResult>(_exception);
        }
    }

    /// <summary>Runs the method up to its first wait.</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "The async method pattern calls it on the builder.")]
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine =>
        AsyncValueTaskMethodBuilder<TResult>.Create().Start(ref stateMachine);

    /// <summary>Not used: the state machine is copied into its box when it first waits.</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "The async method pattern calls it on the builder.")]
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    /// <summary>Completes the method with <paramref name="result"/>.</summary>
    public void SetResult(TResult result)
    {
        if (_box is null)
        {
            _result = result;
        }
        else
        {
            _box.SetResult(result);
        }
    }

    /// <summary>Completes the method with <paramref name="exception"/>.</summary>
    public void SetException(Exception exception)
    {
        if (_box is null)
        {
            _exception = exception;
        }
        else
        {
            _box.SetException(exception);
        }
    }

    /// <summary>Resumes the method when <paramref name="awaiter"/> completes.</summary>
    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    /// <summary>Resumes the method when <paramref name="awaiter"/> completes.</summary>
    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    private PooledValueTaskBox<TResult, TStateMachine> BoxFor<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        if (_box is PooledValueTaskBox<TResult, TStateMachine> box)
        {
            // Waiting again: the state machine already runs in the box.
            box.CaptureContext();
            return box;
        }

        box = PooledValueTaskBox<TResult, TStateMachine>.Rent();
        _box = box;

        // The copy carries this builder with its box set, so the method's next waits and its
        // end go through the box.
        box.StateMachine = stateMachine;
        box.CaptureContext();
        return box;
    }
}
