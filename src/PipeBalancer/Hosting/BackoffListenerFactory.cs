using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// The socket transport of a proxy listener: Kestrel's own socket connections
/// (<see cref="SocketConnectionContextFactory"/>, inline scheduling), behind an accept loop of
/// ours (<see cref="BackoffListener"/>) that backs off when the process is out of descriptors.
/// Kestrel's socket listener retries a failed accept at once, which spins on a process that
/// hit its descriptor limit. With <c>bare</c> (a plain <c>tcp</c> listener) the accepted sockets
/// are handed on as <see cref="ClientSocketConnection"/>s instead, whose pipes start only if asked for.
/// </summary>
internal sealed class BackoffListenerFactory(string listener, ProxyState state, ILoggerFactory loggerFactory, bool bare = false) : IConnectionListenerFactory
{
    /// <summary>Pending connections the kernel holds: Kestrel's default backlog.</summary>
    private const int Backlog = 512;

    /// <inheritdoc />
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        Socket socket;
        try
        {
            socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new AddressInUseException(e.Message, e);
        }

        try
        {
            // Linux gives an accepted socket the listening socket's TCP_NODELAY: set once here,
            // it saves a setsockopt per connection (BackoffListener sets it per socket elsewhere).
            socket.NoDelay = true;
            socket.Listen(Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // Continuations of socket operations run on the I/O thread instead of hopping to the
        // thread pool (measured: with inline socket completions, parity with HAProxy), and the
        // connections' pipes take the balancer's 16 KB blocks instead of Kestrel's 4 KB ones.
        var options = new SocketConnectionFactoryOptions { UnsafePreferInlineScheduling = true };
        SetMemoryPoolFactory(options, BlockMemoryPoolFactory.Instance);
        var factory = new SocketConnectionContextFactory(options, loggerFactory.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        return ValueTask.FromResult<IConnectionListener>(new BackoffListener(listener, socket, factory, state, bare));
    }

    // The options' memory pool is settable only inside Kestrel (its own socket transport copies
    // it from the services); an unsafe accessor reaches the setter, in Native AOT too. A Kestrel
    // without it throws MissingMethodException here, at the first listener bound, not silently.
    [System.Runtime.CompilerServices.UnsafeAccessor(System.Runtime.CompilerServices.UnsafeAccessorKind.Method, Name = "set_MemoryPoolFactory")]
    private static extern void SetMemoryPoolFactory(SocketConnectionFactoryOptions options, IMemoryPoolFactory<byte> factory);
}
