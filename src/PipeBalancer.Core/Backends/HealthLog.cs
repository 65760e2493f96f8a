using Microsoft.Extensions.Logging;

namespace PipeBalancer.Backends;

/// <summary>Logs every health change and every change of a check's outcome, one line each.</summary>
internal sealed partial class HealthLog(ILogger logger) : IHealthObserver
{
    /// <inheritdoc />
    public void OnCheckOutcomeChanged(Backend backend, HealthCheckResult? before, HealthCheckResult after)
    {
        if (after.Passed)
        {
            CheckPasses(logger, backend.Config.Id, backend.Config.Address.Text, after.Reason, before?.Reason ?? "none");
        }
        else
        {
            CheckFails(logger, backend.Config.Id, backend.Config.Address.Text, after.Reason);
        }
    }

    /// <inheritdoc />
    public void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after)
    {
        // Going down is a warning; coming up (or the first verdict) is news.
        var level = after == HealthStatus.Unhealthy ? LogLevel.Warning : LogLevel.Information;
        Changed(logger, level, backend.Config.Id, backend.Config.Address.Text, before, after);
    }

    /// <inheritdoc />
    public void OnCheckFault(Backend backend, Exception fault) =>
        CheckFault(logger, backend.Config.Id, backend.Config.Address.Text, fault);

    /// <inheritdoc />
    public void OnCheckNotMade(Backend backend, Exception cause) =>
        CheckNotMade(logger, backend.Config.Id, backend.Config.Address.Text, cause.Message);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Warning, Message = "Backend {BackendId} ({Address}): health check not made, out of file descriptors or local ports here ({Error}); not counted against the backend, logged again after a check completes")]
    private static partial void CheckNotMade(ILogger logger, string backendId, string address, string error);

    [LoggerMessage(EventId = 3001, Message = "Backend {BackendId} ({Address}): health {Before} -> {After}")]
    private static partial void Changed(ILogger logger, LogLevel level, string backendId, string address, HealthStatus before, HealthStatus after);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Backend {BackendId} ({Address}): health check failed: {Reason}; logged again when the outcome changes")]
    private static partial void CheckFails(ILogger logger, string backendId, string address, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Backend {BackendId} ({Address}): health check passes again ({Reason}); before: {Before}")]
    private static partial void CheckPasses(ILogger logger, string backendId, string address, string reason, string before);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Backend {BackendId} ({Address}): health check broke inside the balancer; not counted against the backend, checks go on; logged again after a check completes")]
    private static partial void CheckFault(ILogger logger, string backendId, string address, Exception fault);
}
