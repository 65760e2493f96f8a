using System.Buffers;
using System.IO.Pipelines;
using PipeBalancer.Http1;
using PipeBalancer.RateLimiting;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// What a client connection needs only while a request is in progress: the parsed request and
/// response heads with their field tables, the exchange (body pump, timeouts, replay copy), the
/// head rewriter, the backend walk and the rate-limit step, and the buffers they rent. A session
/// takes one from the <see cref="RequestStatePool"/> when the first byte of a request
/// arrives and gives it back when it waits for the next, so an idle keep-alive connection holds
/// none of it (about 1.7 KB), and a busy one reuses the same objects request after request.
/// </summary>
internal sealed class RequestState : IDisposable
{
    /// <summary>Most fields accepted in a backend's response head.</summary>
    private const int MaxResponseFields = 256;

    private byte[]? _scratch;

    public RequestState(ProxyState state, HttpLimits limits)
    {
        HeadBytes = limits.MaxHeadBytes;
        Request = new RequestHead(limits.MaxHeaderCount);
        Rewriter = new HeadRewriter();
        Exchange = new HttpExchange(Request, new ResponseHead(MaxResponseFields), Rewriter);
        Attempt = new BackendAttempt(state);
        RateLimits = new RateLimitStep("");
    }

    /// <summary>The request head being parsed or forwarded.</summary>
    public RequestHead Request { get; }

    /// <summary>The exchange with a backend.</summary>
    public HttpExchange Exchange { get; }

    /// <summary>The walk over the backends.</summary>
    public BackendAttempt Attempt { get; }

    /// <summary>The head rewriter.</summary>
    public HeadRewriter Rewriter { get; }

    /// <summary>The listener's rate limiters.</summary>
    public RateLimitStep RateLimits { get; }

    /// <summary>The head size limit this state's scratch buffer is rented for.</summary>
    public int HeadBytes { get; }

    /// <summary>The method and target of the request, kept for the access log (null until it is on).</summary>
    public byte[]? AccessRequest { get; set; }

    /// <summary>Whether this state fits the limits in force (a reload may change them).</summary>
    public bool Fits(HttpLimits limits) => Request.MaxFields == limits.MaxHeaderCount && HeadBytes == limits.MaxHeadBytes;

    /// <summary>A buffer for a request head that arrived split across pipe segments; rented on first need.</summary>
    public byte[] Scratch => _scratch ??= ArrayPool<byte>.Shared.Rent(HeadBytes);

    /// <summary>Binds the state to the connection that rented it.</summary>
    public void Bind(string listener, IDuplexPipe client, System.Net.Sockets.Socket? clientSocket, ReadOnlyMemory<byte> clientIp, bool https, System.Net.EndPoint? remote, System.Net.EndPoint? local)
    {
        RateLimits.Bind(listener);
        Exchange.Bind(client, clientSocket);
        Rewriter.Bind(clientIp, https);
        Attempt.Client = remote;
        Attempt.ClientDestination = local;
    }

    /// <summary>Forgets the connection and the last request, so that nothing of theirs is kept alive while pooled.</summary>
    public void Unbind()
    {
        Exchange.Bind(null);
        Exchange.CloseRequested = false;
        Exchange.Replay.Clear();
        Rewriter.Bind(default, false);
        Rewriter.Tracing = null;
        Attempt.Client = null;
        Attempt.ClientDestination = null;
        Attempt.Forget();
        RateLimits.Forget();
        Request.Reset();
    }

    public void Dispose()
    {
        Exchange.Dispose();
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }
}
