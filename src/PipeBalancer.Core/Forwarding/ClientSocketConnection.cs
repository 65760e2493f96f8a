using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using SocketConnection = Pipelines.Sockets.Unofficial.SocketConnection;
using SocketConnectionOptions = Pipelines.Sockets.Unofficial.SocketConnectionOptions;

namespace PipeBalancer.Forwarding;

/// <summary>
/// An accepted client connection of a listener without a PROXY header to read (a plain
/// <c>tcp</c> listener, or any listener with TLS): the bare socket, whose pipes start only when
/// something asks for <see cref="Transport"/> or sets it. Kestrel's own socket connection starts
/// a receive loop into a pipe at accept; this one leaves the socket free for
/// <see cref="SocketRelay"/>, which moves the bytes socket to socket, or for the TLS listener's
/// <c>SslStream</c>, which reads and writes the socket itself. <see cref="Abort(ConnectionAbortedException)"/> resets the
/// connection (what is still queued to send is thrown away, as Kestrel's abort does), so a
/// relay's pending receive or send ends; disposing closes it gracefully. <see cref="ConnectionClosed"/>
/// fires once the connection is closed.
/// </summary>
internal sealed class ClientSocketConnection : ConnectionContext, IConnectionSocketFeature
{
    private static long s_lastId;

    private readonly PipeOptions _pipeOptions;
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _starting = new();
    private IDuplexPipe? _transport;
    private SocketConnection? _pipes;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private int _closing;

    /// <summary>Wraps <paramref name="socket"/>, accepted and connected; <paramref name="pipeOptions"/> serve its pipes if they are ever asked for.</summary>
    public ClientSocketConnection(Socket socket, PipeOptions pipeOptions)
    {
        Socket = socket;
        _pipeOptions = pipeOptions;
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;

        // Found through the features, so that a wrapper (the listener's count of open
        // connections) does not hide the bare socket from the TCP handler or TLS; the socket
        // feature lets the HTTP session cork it, as with Kestrel's own socket connections.
        Features.Set(this);
        Features.Set<IConnectionSocketFeature>(this);
    }

    /// <summary>The accepted socket.</summary>
    public Socket Socket { get; }

    /// <summary>Whether the connection has been aborted or disposed (set before its socket is closed).</summary>
    public bool IsClosed => Volatile.Read(ref _closing) != 0;

    /// <summary>Whether the socket is still free of pipes (nothing has asked for <see cref="Transport"/> or set it).</summary>
    public bool IsBare => Volatile.Read(ref _transport) is null;

    /// <inheritdoc />
    public override string ConnectionId
    {
        // Made when first asked for (a log line), as Kestrel's connections do.
        get => _id ??= Interlocked.Increment(ref s_lastId).ToString("X8", CultureInfo.InvariantCulture);
        set => _id = value;
    }

    /// <inheritdoc />
    public override IFeatureCollection Features { get; } = new FeatureCollection();

    /// <inheritdoc />
    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    /// <inheritdoc />
    public override IDuplexPipe Transport
    {
        get => Volatile.Read(ref _transport) ?? StartPipes();
        set => Volatile.Write(ref _transport, value);
    }

    /// <inheritdoc />
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (!IsClosed)
        {
            // A reset, not a graceful close: a client that stopped reading (the send timeout)
            // would otherwise keep the kernel sending it what is queued long after the descriptor
            // is closed, beyond any budget.
            try
            {
                Socket.LingerState = new LingerOption(enable: true, seconds: 0);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed under us: nothing is left to reset.
            }
        }

        Close();
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        // The token source is not disposed: an abort from the heartbeat (the send timeout) may
        // still be cancelling it, and one without timers holds nothing to free.
        Close();
        return base.DisposeAsync();
    }

    // Once: the socket (and its pipes, if they started) closes and ConnectionClosed fires.
    private void Close()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        SocketConnection? pipes;
        lock (_starting)
        {
            pipes = _pipes;
        }

        pipes?.Dispose();
        Socket.Dispose();
        _closed.Cancel();
    }

    // At the first use of Transport: the socket's receive and send loops start.
    private IDuplexPipe StartPipes()
    {
        lock (_starting)
        {
            if (_transport is null)
            {
                _pipes = SocketConnection.Create(Socket, _pipeOptions, _pipeOptions, SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites);
                Volatile.Write(ref _transport, _pipes);
            }

            return _transport;
        }
    }
}
