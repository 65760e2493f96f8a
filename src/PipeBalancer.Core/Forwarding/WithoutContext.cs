namespace PipeBalancer.Forwarding;

/// <summary>
/// Starts asynchronous work with execution-context flow suppressed. An async method, a socket
/// operation or a pipe continuation started under a captured context, even an empty one, goes
/// through <c>ExecutionContext.RunInternal</c> on every resumption; started without one, it is
/// resumed directly. The proxy path reads no async local, so it has nothing to carry.
/// </summary>
internal static class WithoutContext
{
    /// <summary>Calls <paramref name="start"/> with flow suppressed and returns its task.</summary>
    public static Task Start<TState>(Func<TState, Task> start, TState state)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return start(state);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return start(state);
        }
    }
}
