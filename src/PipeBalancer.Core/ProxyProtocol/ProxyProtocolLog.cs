using System.Net;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.ProxyProtocol;

/// <summary>The PROXY protocol's log lines, source-generated, with stable event ids (7001..7099).</summary>
internal static partial class ProxyProtocolLog
{
    public static void Refused(ILogger logger, string connectionId, EndPoint? source, ProxyHeaderError error)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            string reason = ProxyHeaderErrors.Describe(error);
            RefusedCore(logger, connectionId, source, reason);
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Connection {ConnectionId} from {Source}: closed at its PROXY header: {Reason}")]
    private static partial void RefusedCore(ILogger logger, string connectionId, EndPoint? source, string reason);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Source}: PROXY v{Version} header names client {Client}")]
    public static partial void Accepted(ILogger logger, string connectionId, EndPoint source, int version, EndPoint client);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Error, Message = "Connection {ConnectionId}: fault in the balancer itself while reading a PROXY header; the connection is closed")]
    public static partial void OwnFault(ILogger logger, string connectionId, Exception exception);
}
