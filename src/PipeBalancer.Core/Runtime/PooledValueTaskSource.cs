using System.Threading.Tasks.Sources;

namespace PipeBalancer.Runtime;

/// <summary>
/// What the caller of a <see cref="PooledValueTaskBuilder{TResult}"/> method awaits once the
/// method has waited: a reusable completion source that goes back to its pool when its result
/// has been read (a <see cref="ValueTask{TResult}"/> is awaited once).
/// </summary>
internal abstract class PooledValueTaskSource<TResult> : IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;

    /// <summary>The token of the current use.</summary>
    internal short Version => _core.Version;

    /// <inheritdoc />
    public TResult GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            Return();
        }
    }

    /// <inheritdoc />
    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    /// <inheritdoc />
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    internal void SetResult(TResult result) => _core.SetResult(result);

    internal void SetException(Exception exception) => _core.SetException(exception);

    /// <summary>Clears the box and gives it back to its pool.</summary>
    protected abstract void Return();
}
