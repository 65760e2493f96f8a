using Microsoft.Extensions.Logging;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>The data plane's log lines, source-generated, with stable event ids.</summary>
internal static partial class Log
{
    public static void Rejected(ILogger logger, string connectionId, RejectReason reason)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            string description = Rejections.Describe(reason);
            int status = Rejections.StatusCode(reason);
            RejectedCore(logger, connectionId, status, description);
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Connection {ConnectionId}: request rejected with {Status}: {Reason}")]
    private static partial void RejectedCore(ILogger logger, string connectionId, int status, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: closed inside a request head")]
    public static partial void IncompleteHead(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Backend {BackendId} ({Address}): connect failed: {Error}")]
    public static partial void ConnectFailed(ILogger logger, string backendId, string address, string error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Connection {ConnectionId}: fault in the balancer itself; the connection is closed")]
    public static partial void OwnFault(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Backend {BackendId} ({Address}): connect failed on a local limit, not counted against the backend: {Error}")]
    public static partial void ConnectLocalLimit(ILogger logger, string backendId, string address, string error);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Out of file descriptors or local ports ({Operation}: {Error}): the data plane cannot open connections; /readyz reports not ready until none has failed for 5 s")]
    public static partial void DataPlaneOutOfDescriptors(ILogger logger, string operation, string error);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Listener {Listener}: accept failed on a local limit ({Error}); accepting again in {DelayMs} ms")]
    public static partial void AcceptBackingOff(ILogger logger, string listener, string error, int delayMs);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Listener {Listener}: {Open} client connections open, the most the descriptor limit leaves room for ({Budget}): accepting paused until some close; /readyz reports not ready meanwhile")]
    public static partial void AcceptPausedAtBudget(ILogger logger, string listener, long open, long budget);

    /// <summary>Logs event 1106 once the episode of local-limit faults that just began is over.</summary>
    public static void LocalLimitsQuietLater(ProxyState state) =>
        state.LocalLimits.WhenQuiet(() => LocalLimitsQuiet(state.Logger, state.LocalLimits.Accepted, state.LocalLimits.Budget));

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Accepting and connecting again: no accept paused or failed and no connect failed on a local limit for 5 s ({Open} client connections open, at most {Budget}); /readyz no longer reports it")]
    private static partial void LocalLimitsQuiet(ILogger logger, long open, long budget);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Connection {ConnectionId}: the client read nothing for {TimeoutMs} ms (timeouts.clientSendMs); the connection is closed")]
    public static partial void ClientSendTimedOut(ILogger logger, string connectionId, int timeoutMs);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: TLS handshake failed: {Error}")]
    public static partial void TlsHandshakeFailed(ILogger logger, string connectionId, string error);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Error, Message = "Fault in the balancer itself during a heartbeat walk over the connections' timeouts; the next walk comes one period later")]
    public static partial void HeartbeatFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: TLS handshake not complete within {TimeoutMs} ms (timeouts.headersMs); the connection is closed")]
    public static partial void TlsHandshakeTimedOut(ILogger logger, string connectionId, int timeoutMs);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: the request body did not end within the limits after its response; lingering close (the client's bytes are read and thrown away, then the connection is closed)")]
    public static partial void LingeringClose(ILogger logger, string connectionId);
}
