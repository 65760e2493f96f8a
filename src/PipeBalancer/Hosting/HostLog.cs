using Microsoft.Extensions.Logging;

namespace PipeBalancer.Hosting;

/// <summary>The host's log lines: start, reload, shutdown. Source-generated, stable event ids.</summary>
internal static partial class HostLog
{
    public static void Listening(ILogger logger, ListenerServer server)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            string mode = server.Config.Mode.ToString().ToLowerInvariant();
            string endPoint = server.EndPoint.ToString();
            ListeningCore(logger, server.Config.Name, mode, server.Certificate is null ? "" : ", TLS", endPoint);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Listener {Listener} ({Mode}{Tls}) on {EndPoint}")]
    private static partial void ListeningCore(ILogger logger, string listener, string mode, string tls, string endPoint);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Warming the admin app up at start failed on {Path} ({Error}); what its answers need is loaded on first use instead")]
    public static partial void AdminWarmupFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Descriptor limit {Limit}, {InUse} open after start: listeners hold at most {Budget} client connections at a time (each may have a backend connection too; the rest is kept for the runtime)")]
    public static partial void DescriptorBudget(ILogger logger, long limit, long inUse, long budget);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Reloading {Path} ({Trigger})")]
    public static partial void Reloading(ILogger logger, string path, string trigger);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Reload refused, the running configuration is kept: {Error}")]
    public static partial void ReloadError(ILogger logger, string error);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Configuration generation {Generation} applied: {Backends} backend(s), {Listeners} listener(s)")]
    public static partial void Reloaded(ILogger logger, long generation, int backends, int listeners);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Reload: {Warning}")]
    public static partial void ReloadWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Listener {Listener} stopped (removed or replaced by a reload)")]
    public static partial void ListenerStopped(ILogger logger, string listener);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "{Signal}: stopping; requests in flight have {TimeoutMs} ms to finish")]
    public static partial void ShuttingDown(ILogger logger, string signal, int timeoutMs);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "{Signal}: reopened {Path}")]
    public static partial void LogReopened(ILogger logger, string signal, string path);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Error, Message = "{Signal}: {Error}; still writing to the file opened before")]
    public static partial void LogReopenFailed(ILogger logger, string signal, string error);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Information, Message = "{Signal}: nothing to do ({Reason})")]
    public static partial void SignalIgnored(ILogger logger, string signal, string reason);
}
