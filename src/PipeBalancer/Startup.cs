namespace PipeBalancer;

/// <summary>Process settings that must be in force before the first socket exists.</summary>
internal static class Startup
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    public const string EngineCountVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// Socket completions run inline on the epoll threads, and there is one epoll thread for
    /// every two cores. The runtime reads both variables once, when the first socket is
    /// created, so this runs first; values already in the environment win.
    /// </summary>
    public static void ConfigureSocketEngine()
    {
        // Measured on 2 cores (docs/performance.md): inline completions take the proxy from
        // 0.57x to parity with HAProxy's throughput.
        SetDefault(InlineCompletionsVariable, "1");

        // With inline completions the epoll threads do all the proxying. Measured on 2 cores
        // with the load generator and backends on the same machine: two epoll threads gave a
        // p99 of 8 ms (HAProxy: 2 ms), one gave 2.3 ms at the same throughput.
        SetDefault(EngineCountVariable, Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void SetDefault(string variable, string value)
    {
        if (Environment.GetEnvironmentVariable(variable) is null)
        {
            Environment.SetEnvironmentVariable(variable, value);
        }
    }
}
