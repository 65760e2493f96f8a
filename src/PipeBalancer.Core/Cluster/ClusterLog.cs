using Microsoft.Extensions.Logging;

namespace PipeBalancer.Cluster;

/// <summary>The shared state's log lines (event ids 6101..6199).</summary>
internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Cluster: instance {Instance} shares the backends under '{Prefix}' through etcd at {Endpoint}, revision {Revision}")]
    public static partial void Joined(ILogger logger, string instance, string prefix, string endpoint, long revision);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information, Message = "Cluster: the prefix '{Prefix}' was empty; this instance wrote its {Count} backends from the file (revision {Revision})")]
    public static partial void Seeded(ILogger logger, string prefix, int count, long revision);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information, Message = "Cluster: applied the shared backends of revision {Revision} ({Count} backends, configuration generation {Generation})")]
    public static partial void Applied(ILogger logger, long revision, int count, long generation);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Cluster: etcd is unreachable; routing goes on with the backends of revision {Revision} and changes are refused until it is back: {Reason}")]
    public static partial void Stale(ILogger logger, long revision, string reason);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "Cluster: etcd is reachable again at {Endpoint} after {Seconds:F1} s; catching up from revision {Revision}")]
    public static partial void Reconnected(ILogger logger, string endpoint, double seconds, long revision);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning, Message = "Cluster: revision {Revision} was compacted away in etcd; reading the whole shared state again")]
    public static partial void Compacted(ILogger logger, long revision);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Error, Message = "Cluster: the shared backends of revision {Revision} are not valid here and were not applied; the backends in force are kept: {Errors}")]
    public static partial void Refused(ILogger logger, long revision, string errors);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Warning, Message = "Cluster: the shared backends key was deleted (revision {Revision}); the backends in force are kept and the next change writes it again")]
    public static partial void Deleted(ILogger logger, long revision);

    [LoggerMessage(EventId = 6109, Level = LogLevel.Warning, Message = "Cluster: the file's backends differ from the shared ones and were not applied; with a cluster section the backends come from etcd (change them through the admin API)")]
    public static partial void FileBackendsIgnored(ILogger logger);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Debug, Message = "Cluster: registration under a lease failed, trying again: {Reason}")]
    public static partial void RegistrationFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Error, Message = "Cluster: unexpected failure of the {Loop} loop; it starts again")]
    public static partial void LoopFailed(ILogger logger, Exception exception, string loop);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Information, Message = "Cluster: {Change} committed at revision {Revision}")]
    public static partial void Committed(ILogger logger, string change, long revision);
}
