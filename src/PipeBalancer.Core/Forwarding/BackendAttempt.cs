using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Routing;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Choosing a backend for one request (HTTP) or one connection (TCP), written once: walk the
/// routing core from the key's hash, admit through the backend's circuit (a half-open circuit
/// lets one trial through), rent a pooled connection or connect, and record how the backend
/// did. It also remembers the last failure, so that when the walk runs out after one, the
/// client is told what happened (502 or 504) and the access log names the backend that failed.
/// One instance per TCP connection or <see cref="RequestState"/>, reused for every request.
/// </summary>
internal sealed class BackendAttempt(ProxyState state)
{
    private ulong[] _seen = new ulong[1];
    private BackendSet? _backends;
    private Router? _router;
    private WalkState _walk;
    private int _connectMs;
    private ProxyProtocolConfig _proxyProtocol = ProxyProtocolConfig.Default;

    /// <summary>The client's address (the PROXY header's source, when the balancer sends one).</summary>
    public EndPoint? Client { get; set; }

    /// <summary>The address the client connected to (the PROXY header's destination).</summary>
    public EndPoint? ClientDestination { get; set; }

    /// <summary>The backend of the current attempt (null before the first).</summary>
    public Backend? Backend { get; private set; }

    /// <summary>The last backend that failed in this walk, or null.</summary>
    public Backend? FailedBackend { get; private set; }

    /// <summary>What the last failure means to the client: 502, 504, or 0 when nothing failed.</summary>
    public int FailureStatus { get; private set; }

    /// <summary>Starts a walk over <paramref name="snapshot"/>'s backends from <paramref name="hash"/>.</summary>
    public void Begin(ProxySnapshot snapshot, uint hash)
    {
        _backends = snapshot.Backends;
        _router = _backends.Router;
        _connectMs = snapshot.Config.Timeouts.ConnectMs;
        _proxyProtocol = snapshot.Config.ProxyProtocol;
        if (_seen.Length < _router.SeenLength)
        {
            _seen = new ulong[_router.SeenLength];
        }

        _walk = _router.Begin(hash, _backends, _seen);
        Backend = null;
        FailedBackend = null;
        FailureStatus = 0;
    }

    /// <summary>Forgets the last walk, so that a pooled attempt keeps no backend or snapshot alive.</summary>
    public void Forget()
    {
        _backends = null;
        _router = null;
        _walk = default;
        _proxyProtocol = ProxyProtocolConfig.Default;
        Backend = null;
        FailedBackend = null;
        FailureStatus = 0;
    }

    /// <summary>
    /// The next admitted backend's connection: a pooled one when <paramref name="pooled"/> and one
    /// is idle, else a new one. A backend whose connect fails is charged and the walk goes on
    /// (nothing was sent, so any method may). Null when the walk has nothing left.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<BackendConnection?> NextAsync(bool pooled)
    {
        while (true)
        {
            int server = _router!.Next(ref _walk, _seen, _backends!);
            if (server < 0)
            {
                return null;
            }

            var backend = _backends![server];
            if (!backend.TryAdmit())
            {
                continue;
            }

            Backend = backend;
            var connection = pooled ? backend.Pool.Rent() : null;
            connection ??= await ConnectAsync().ConfigureAwait(false);
            if (connection is not null)
            {
                return connection;
            }
        }
    }

    /// <summary>A new connection to the current backend (a pooled one went stale); null when the connect fails.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<BackendConnection?> ConnectAsync()
    {
        var backend = Backend!;
        try
        {
            var connection = await state.Connect(backend, _connectMs).ConfigureAwait(false);
            var send = backend.Config.SendsProxy(_proxyProtocol);
            if (send is ProxySend.V1 or ProxySend.V2)
            {
                await SendProxyHeaderAsync(connection, send).ConfigureAwait(false);
            }

            return connection;
        }
        catch (Exception e) when (NetworkFault.Classify(e) is var kind && kind != NetworkFaultKind.None)
        {
            if (kind == NetworkFaultKind.LocalLimit)
            {
                // Out of descriptors or ports here: the backend did nothing wrong.
                Log.ConnectLocalLimit(state.Logger, backend.Config.Id, backend.Config.Address.Text, e.Message);
                if (state.LocalLimits.Record(state.LocalLimits.Accepted))
                {
                    Log.DataPlaneOutOfDescriptors(state.Logger, "connect", e.Message);
                    Log.LocalLimitsQuietLater(state);
                }
            }
            else
            {
                backend.RecordFailure(BackendErrorKind.Connect);
                Log.ConnectFailed(state.Logger, backend.Config.Id, backend.Config.Address.Text, e.Message);
            }

            FailedBackend = backend;
            FailureStatus = 502;
            return null;
        }
    }

    // The PROXY header goes first on a new connection, flushed at once: a backend that expects
    // one waits for it before anything else, including a greeting in protocols where it speaks first.
    private async ValueTask SendProxyHeaderAsync(BackendConnection connection, ProxySend send)
    {
        try
        {
            if (connection.UnstartedSocket is { } socket)
            {
                // Straight onto the socket: its pipes start only if the forwarder uses them.
                var header = ArrayPool<byte>.Shared.Rent(ProxyHeaderWriter.MaxLength);
                try
                {
                    int length = ProxyHeaderWriter.Write(header, send, Client, ClientDestination);
                    await socket.SendAsync(header.AsMemory(0, length), SocketFlags.None).ConfigureAwait(false);

                    // Counted as the pipes would have counted it.
                    Backend!.Stats.Transferred(length, 0);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(header);
                }
            }
            else
            {
                ProxyHeaderWriter.Write(connection.Output, send, Client, ClientDestination);
                await connection.Output.FlushAsync().ConfigureAwait(false);
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The current backend answered (a TCP connection opened).</summary>
    public void Succeeded() => Backend!.RecordSuccess();

    /// <summary>The current backend sent a response head with <paramref name="status"/> for a request sent at <paramref name="sentAt"/>.</summary>
    public void Answered(int status, long sentAt, bool count5xx)
    {
        var backend = Backend!;
        backend.Stats.Response(status, sentAt);
        if (status >= 500 && count5xx)
        {
            backend.RecordFailure(BackendErrorKind.Status5xx);
        }
        else
        {
            backend.RecordSuccess();
        }
    }

    /// <summary>The current backend failed in a way that is its own (<paramref name="kind"/>); the client would get <paramref name="status"/>.</summary>
    public void Failed(BackendErrorKind kind, int status)
    {
        Backend!.RecordFailure(kind);
        FailedBackend = Backend;
        FailureStatus = status;
    }
}
