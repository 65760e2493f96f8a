using Microsoft.Extensions.Logging;

namespace PipeBalancer.Tracing;

/// <summary>Tracing's log lines, source-generated, with stable event ids (7201-7299).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7201, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: the request's {Header} was not a valid id (1 to 200 visible ASCII characters); replaced with a new one")]
    public static partial void RequestIdReplaced(ILogger logger, string connectionId, string header);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Tracing: exporting spans to {Endpoint} over OTLP {Protocol}")]
    public static partial void ExportStarted(ILogger logger, string endpoint, string protocol);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Information, Message = "Tracing: span export to {Endpoint} stopped")]
    public static partial void ExportStopped(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Error, Message = "Tracing: the OTLP exporter for {Endpoint} could not be set up; spans are not exported")]
    public static partial void ExportFailed(ILogger logger, string endpoint, Exception exception);
}
