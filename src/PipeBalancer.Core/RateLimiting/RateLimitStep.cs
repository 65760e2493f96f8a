using Microsoft.Extensions.Logging;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// The rate-limit step of one client connection (or of a pooled request state, bound to one): the limiters of its listener in the snapshot
/// in force (looked up again only when the snapshot changes), asked in lb.json's order. Each
/// limiter counts on its own: a request one refuses has used a token of those before it.
/// </summary>
internal sealed partial class RateLimitStep(string listener)
{
    private string _listener = listener;
    private ProxySnapshot? _snapshot;
    private RateLimiter[] _limiters = [];

    /// <summary>The limiter that refused the last request, or null.</summary>
    public RateLimiter? LimitedBy { get; private set; }

    /// <summary>Moves the step to the connections of <paramref name="listener"/> (a pooled request state serves any listener).</summary>
    public void Bind(string listener)
    {
        if (!string.Equals(listener, _listener, StringComparison.Ordinal))
        {
            _listener = listener;
            _snapshot = null;
        }
    }

    /// <summary>0 when the request may go on, else the seconds of its Retry-After.</summary>
    public int Check(ProxySnapshot snapshot, RequestHead request, ReadOnlySpan<byte> clientAddress)
    {
        foreach (var limiter in LimitersOf(snapshot))
        {
            int retryAfter = limiter.Check(request, clientAddress);
            if (retryAfter > 0)
            {
                LimitedBy = limiter;
                return retryAfter;
            }
        }

        return 0;
    }

    /// <summary>
    /// Whether a TCP connection from <paramref name="clientAddress"/> may go on (limiters by
    /// client address); when not, <paramref name="retryAfter"/> is the seconds until the limiter
    /// that refused it would take one again.
    /// </summary>
    public bool AdmitConnection(ProxySnapshot snapshot, ReadOnlySpan<byte> clientAddress, out int retryAfter)
    {
        foreach (var limiter in LimitersOf(snapshot))
        {
            retryAfter = limiter.CheckAddress(clientAddress);
            if (retryAfter > 0)
            {
                LimitedBy = limiter;
                return false;
            }
        }

        retryAfter = 0;
        return true;
    }

    /// <summary>Logs the refusal of the last request or connection (debug: a flood must not flood the log).</summary>
    public void LogLimited(ILogger logger, string connectionId, int retryAfter)
    {
        if (LimitedBy is { } limiter)
        {
            Limited(logger, connectionId, limiter.Config.Name, retryAfter);
        }
    }

    /// <summary>Forgets the snapshot and limiters of the last request, so that a pooled step keeps no old configuration alive.</summary>
    public void Forget()
    {
        _snapshot = null;
        _limiters = [];
        LimitedBy = null;
    }

    private RateLimiter[] LimitersOf(ProxySnapshot snapshot)
    {
        if (!ReferenceEquals(snapshot, _snapshot))
        {
            _limiters = snapshot.RateLimits.For(_listener);
            _snapshot = snapshot;
        }

        return _limiters;
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Debug, Message = "Connection {ConnectionId}: over rate limit {Limiter}; retry after {RetryAfter} s")]
    private static partial void Limited(ILogger logger, string connectionId, string limiter, int retryAfter);
}
