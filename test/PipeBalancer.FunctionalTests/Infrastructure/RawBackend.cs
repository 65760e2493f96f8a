using System.Net;
using System.Net.Sockets;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// A raw TCP backend on 127.0.0.1 port 0 that runs a script per connection: for faults a real
/// server would not produce (resets, garbage, hangs) and for counting every byte it receives.
/// </summary>
public sealed class RawBackend : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Socket, RawBackend, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accept;
    private long _bytesReceived;
    private int _accepted;

    public RawBackend(Func<Socket, RawBackend, Task> script)
    {
        _script = script;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptAsync();
    }

    public int Port { get; }

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public int Accepted => Volatile.Read(ref _accepted);

    public CancellationToken Stopping => _stop.Token;

    /// <summary>A backend that reads and counts everything, answering nothing.</summary>
    /// <summary>A loopback port nothing listens on (bound, read back and released), for a backend that refuses connections.</summary>
    public static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static RawBackend Counting() => new(async (socket, self) => await self.DrainAsync(socket));

    /// <summary>Receives into <paramref name="buffer"/>, counting the bytes; 0 at end of stream.</summary>
    public async Task<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        int read = await socket.ReceiveAsync(buffer, _stop.Token);
        Interlocked.Add(ref _bytesReceived, read);
        return read;
    }

    /// <summary>Reads until a request head (blank line) has arrived; returns it, or null at end of stream.</summary>
    public async Task<string?> ReadHeadAsync(Socket socket)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await ReceiveAsync(socket, one) == 0)
            {
                return null;
            }

            head.Add(one[0]);
            if (head.Count >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                return System.Text.Encoding.Latin1.GetString(head.ToArray());
            }
        }
    }

    public async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[8192];
        while (await ReceiveAsync(socket, buffer) > 0)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] running;
        lock (_connections)
        {
            running = [.. _connections];
        }

        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            Interlocked.Increment(ref _accepted);
            var task = Task.Run(async () =>
            {
                using (socket)
                {
                    try
                    {
                        await _script(socket, this);
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                }
            });
            lock (_connections)
            {
                _connections.Add(task);
            }
        }
    }
}
