using PipeBalancer.Backends;
using PipeBalancer.Http1;
using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Runtime;

/// <summary>
/// Totals since start that belong to no backend, updated with one interlocked add each:
/// requests forwarded, client connections, and the answers the balancer makes itself.
/// </summary>
internal sealed class ProxyCounters
{
    private readonly long[] _rejections = new long[Enum.GetValues<RejectReason>().Length];
    private readonly long[] _ownResponses = new long[StatusClasses.Count];
    private long _requests;
    private long _noBackend;
    private long _openConnections;
    private long _retries;
    private readonly long[] _proxyHeaderRefusals = new long[Enum.GetValues<ProxyHeaderError>().Length];
    private long _proxyHeaders;

    /// <summary>Requests forwarded to a backend (a retried request counts once per attempt; in TCP mode, connections).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests refused for <paramref name="reason"/>.</summary>
    public long Rejections(RejectReason reason) => Interlocked.Read(ref _rejections[(int)reason]);

    /// <summary>Requests answered 503 because no backend could be chosen.</summary>
    public long NoBackend => Interlocked.Read(ref _noBackend);

    /// <summary>Responses the balancer made itself (rejections, 502, 503, 504), by status class.</summary>
    public long OwnResponses(int statusClass) => Interlocked.Read(ref _ownResponses[statusClass]);

    /// <summary>Requests sent again to another server after a failure.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Client connections open now, on HTTP and TCP listeners.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    /// <summary>PROXY headers accepted from trusted sources.</summary>
    public long ProxyHeaders => Interlocked.Read(ref _proxyHeaders);

    /// <summary>Connections closed at their PROXY header for <paramref name="error"/>.</summary>
    public long ProxyHeaderRefusals(ProxyHeaderError error) => Interlocked.Read(ref _proxyHeaderRefusals[(int)error]);

    internal void ProxyHeaderAccepted() => Interlocked.Increment(ref _proxyHeaders);

    internal void ProxyHeaderRefused(ProxyHeaderError error) => Interlocked.Increment(ref _proxyHeaderRefusals[(int)error]);

    internal void Request() => Interlocked.Increment(ref _requests);

    internal void Rejection(RejectReason reason)
    {
        Interlocked.Increment(ref _rejections[(int)reason]);
        Interlocked.Increment(ref _ownResponses[StatusClasses.Of(Http1.Rejections.StatusCode(reason))]);
    }

    internal void BackendError(int status)
    {
        if (status == 503)
        {
            Interlocked.Increment(ref _noBackend);
        }

        Interlocked.Increment(ref _ownResponses[StatusClasses.Of(status)]);
    }

    /// <summary>A response the balancer made itself for another reason (429 over a rate limit).</summary>
    internal void OwnResponse(int status) => Interlocked.Increment(ref _ownResponses[StatusClasses.Of(status)]);

    /// <summary>A TCP-mode connection that no backend could take (closed without a byte).</summary>
    internal void NoBackendForConnection() => Interlocked.Increment(ref _noBackend);

    internal void Opened() => Interlocked.Increment(ref _openConnections);

    internal void Retry() => Interlocked.Increment(ref _retries);

    internal void Closed() => Interlocked.Decrement(ref _openConnections);
}
