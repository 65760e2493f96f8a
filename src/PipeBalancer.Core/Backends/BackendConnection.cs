using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using PipeBalancer.Forwarding;
using Pipelines.Sockets.Unofficial;

namespace PipeBalancer.Backends;

/// <summary>
/// One connection to a backend, as a pair of pipes: a TCP socket (Pipelines.Sockets.Unofficial),
/// or any <see cref="IDuplexPipe"/> (in-memory pipes in tests). The forwarder only sees the pipes.
/// A socket's pipes (and their receive loop) start at the first use of <see cref="Input"/> or
/// <see cref="Output"/>: until then the bare socket is open to <see cref="UnstartedSocket"/>,
/// which a TCP listener relays socket to socket without pipes.
/// </summary>
internal sealed class BackendConnection : IDuplexPipe, IDisposable
{
    private readonly Socket? _rawSocket;
    private readonly PipeOptions? _sendOptions;
    private readonly PipeOptions? _receiveOptions;
    private readonly BackendStats? _owner;
    private readonly Lock _starting = new();
    private IDuplexPipe? _pipe;
    private SocketConnection? _socket;
    private long _accountedSent;
    private long _accountedReceived;
    private int _disposed;

    private BackendConnection(IDuplexPipe pipe, BackendStats? owner)
    {
        _pipe = pipe;
        _owner = owner;
        owner?.ConnectionOpened();
    }

    private BackendConnection(Socket socket, PipeOptions sendOptions, PipeOptions receiveOptions, BackendStats? owner)
    {
        _rawSocket = socket;
        _sendOptions = sendOptions;
        _receiveOptions = receiveOptions;
        _owner = owner;
        owner?.ConnectionOpened();
    }

    /// <summary>Bytes from the backend.</summary>
    public PipeReader Input => (Volatile.Read(ref _pipe) ?? StartPipes()).Input;

    /// <summary>Bytes to the backend.</summary>
    public PipeWriter Output => (Volatile.Read(ref _pipe) ?? StartPipes()).Output;

    /// <summary>
    /// The connection's socket while its pipes have not started (nothing has been read or written
    /// through them), else null. Whoever uses it moves the bytes itself and never touches
    /// <see cref="Input"/> or <see cref="Output"/>; disposing the connection still closes it.
    /// </summary>
    public Socket? UnstartedSocket => Volatile.Read(ref _pipe) is null ? _rawSocket : null;

    /// <summary>The socket under the pipes (null over in-memory pipes), for socket options such as <see cref="TcpCork"/>.</summary>
    public Socket? Socket => _socket?.Socket;

    /// <summary>When it was last returned to the pool (Environment.TickCount64).</summary>
    public long IdleSince { get; set; }

    /// <summary>Whether it has carried a request before (a failure on it may be a stale connection).</summary>
    public bool Reused { get; set; }

    /// <summary>Wraps pipes that stand for a backend connection (in-memory in tests); disposing completes both.</summary>
    public static BackendConnection Over(IDuplexPipe pipe, BackendStats? owner = null) => new(pipe, owner);

    /// <summary>
    /// Opens a connection, giving up after <paramref name="timeoutMs"/> with a
    /// <see cref="SocketException"/> of <see cref="SocketError.TimedOut"/>.
    /// </summary>
    /// <param name="endPoint">Where to connect.</param>
    /// <param name="timeoutMs">Connect timeout.</param>
    /// <param name="sendOptions">Pipe options toward the backend.</param>
    /// <param name="receiveOptions">Pipe options from the backend.</param>
    /// <param name="owner">The backend's stats, which count the connection while it is open.</param>
    public static async ValueTask<BackendConnection> ConnectAsync(EndPoint endPoint, int timeoutMs, PipeOptions sendOptions, PipeOptions receiveOptions,
        BackendStats? owner = null)
    {
        var socket = endPoint.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            ? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            using var timeout = new CancellationTokenSource(timeoutMs);
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                // The balancer's own connect timeout: a network event, said as one.
                throw new SocketException((int)SocketError.TimedOut);
            }

            return new BackendConnection(socket, sendOptions, receiveOptions, owner);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Once per connection, at the first use of its pipes: the socket's receive and send loops start.
    private IDuplexPipe StartPipes()
    {
        lock (_starting)
        {
            if (_pipe is null)
            {
                _socket = SocketConnection.Create(_rawSocket!, _sendOptions, _receiveOptions, SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites);
                Volatile.Write(ref _pipe, _socket);
                if (Volatile.Read(ref _disposed) != 0)
                {
                    // Used after it was closed: pipes that end at once, as a closed socket's would.
                    _socket.Dispose();
                }
            }

            return _pipe;
        }
    }

    /// <summary>
    /// Whether an idle connection can still carry a request: the backend has not closed it and
    /// has sent nothing unasked (either makes it unusable).
    /// </summary>
    public bool IsUsable()
    {
        try
        {
            if (!Input.TryRead(out var result))
            {
                return true;
            }

            bool usable = !result.IsCompleted && !result.IsCanceled && result.Buffer.IsEmpty;
            Input.AdvanceTo(result.Buffer.Start);
            return usable;
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // The backend reset the connection while it was idle.
            return false;
        }
    }

    /// <summary>
    /// Whether the socket under the pipes has begun to shut down for any reason: a send failed,
    /// the backend reset it, or it ended its side (a half-close, after which sending may still
    /// work). The transport records only the first reason and completes the output when sending
    /// fails, so any reason counts: a connection past this point is not written to or reused.
    /// </summary>
    public bool SendClosed => _socket is { ShutdownKind: not PipeShutdownKind.None };

    /// <summary>Cancels a pending read (a timeout fired).</summary>
    public void CancelRead() => Input.CancelPendingRead();

    /// <summary>Adds the bytes moved since the last call to <paramref name="stats"/>.</summary>
    public void Account(BackendStats stats)
    {
        if (_socket is null)
        {
            return;
        }

        long sent = _socket.BytesSent;
        long received = _socket.BytesRead;
        stats.Transferred(sent - _accountedSent, received - _accountedReceived);
        _accountedSent = sent;
        _accountedReceived = received;
    }

    /// <summary>Closes the connection (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _owner?.ConnectionClosed();
            IDuplexPipe? pipe;
            SocketConnection? socket;
            lock (_starting)
            {
                pipe = _pipe;
                socket = _socket;
            }

            if (socket is not null)
            {
                socket.Dispose();
            }
            else if (_rawSocket is not null)
            {
                // Its pipes never started: the socket alone.
                _rawSocket.Dispose();
            }
            else
            {
                pipe!.Input.Complete();
                pipe.Output.Complete();
            }
        }
    }
}
