using Microsoft.Extensions.Logging;

namespace PipeBalancer.Discovery;

/// <summary>What discovery logs (event ids 6001..6099).</summary>
internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Discovery group {Group}: {Count} target(s) from {Lookup}: {Targets}")]
    public static partial void SetChanged(ILogger logger, string group, int count, string lookup, string targets);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Discovery group {Group}: lookup of {Lookup} failed ({Failure}: {Detail}); keeping the last known set of {Count} target(s)")]
    public static partial void LookupFailed(ILogger logger, string group, string lookup, string failure, string? detail, int count);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Discovery group {Group}: lookups of {Lookup} succeed again (they failed for {Seconds:0.#} s)")]
    public static partial void Recovered(ILogger logger, string group, string lookup, double seconds);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Discovery: left out, its id or address is taken by another backend (or the backend or ring-point limit is reached): {Backends}")]
    public static partial void Dropped(ILogger logger, string backends);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Error, Message = "Discovery group {Group}: unexpected failure of a lookup of {Lookup}")]
    public static partial void Unexpected(ILogger logger, Exception exception, string group, string lookup);
}
