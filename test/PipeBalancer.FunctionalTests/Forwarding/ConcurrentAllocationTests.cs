using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// Bytes allocated per proxied request under a user's kind of load: many keep-alive client
/// connections at once, each sending its next request as soon as its response is in, through
/// the real Kestrel listener to a backend on real sockets. The runtime's allocation counter
/// covers the whole process; the clients and the backend here are loops over preallocated
/// buffers and cached socket operations, so what it counts is the balancer's.
/// </summary>
[NonParallelizable]
[CancelAfter(180_000)]
public sealed class ConcurrentAllocationTests
{
    private const int Connections = 64;
    private const int WarmupRequests = 20_000;
    private const int MeasuredRequests = 40_000;

    // What the process allocates whatever the load (timers, the heartbeats, Kestrel's date
    // header: 3-13 KB a second measured with no request in flight) spread over the measured
    // requests: 0.3-0.6 bytes per request at 13-17k requests a second on a loaded 2-core
    // machine, and under 8 down to about 1,600 a second. Anything allocated per request is at
    // least 24 bytes, so even an object on every other request fails this.
    private const double MaxBytesPerRequest = 8.0;

    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [TestCase("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\n", TestName = "Get_Over64KeepAliveConnections_AllocatesNothingPerRequest")]
    [TestCase("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello-world", "hello-world", TestName = "PostWithContentLength_Over64KeepAliveConnections_AllocatesNothingPerRequest")]
    [TestCase("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n-world\r\n0\r\n\r\n", "0\r\n\r\n", TestName = "PostChunked_Over64KeepAliveConnections_AllocatesNothingPerRequest")]
    // The backend answers once the head and the body's first bytes are in; the client sends the
    // rest of the body after the response, so every request goes through the body's end after
    // its response (forwarded to the backend, which keeps its connection).
    [TestCase("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello", "\r\n\r\nhello", "-world", TestName = "PostAnsweredBeforeItsBodyEnds_Over64KeepAliveConnections_AllocatesNothingPerRequest")]
    public async Task SteadyState(string request, string requestEnd, string? rest = null)
    {
        using var backend = new Backend(Encoding.ASCII.GetBytes(requestEnd));
        await using var balancer = await TestBalancer.StartAsync([("s1", backend.Port)]);
        var bytes = Encoding.ASCII.GetBytes(request);
        using var stop = new CancellationTokenSource();
        var clients = new Client[Connections];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = await Client.ConnectAsync(balancer.EndPoint, bytes, rest is null ? null : Encoding.ASCII.GetBytes(rest));
        }

        var loops = clients.Select(c => c.RunAsync(stop.Token)).ToArray();
        try
        {
            WaitFor(clients, loops, WarmupRequests);
            long startCount = Completed(clients);
            var clock = Stopwatch.StartNew();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            WaitFor(clients, loops, startCount + MeasuredRequests);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            long requests = Completed(clients) - startCount;
            double perRequest = allocated / (double)requests;
            TestContext.Out.WriteLine($"{allocated} bytes over {requests} requests: {perRequest:F2} per request in {clock.ElapsedMilliseconds} ms");
            Assert.That(perRequest, Is.LessThan(MaxBytesPerRequest), $"{allocated} bytes over {requests} requests on {Connections} connections");
        }
        finally
        {
            stop.Cancel();
            foreach (var client in clients)
            {
                client.Dispose();
            }

            await Task.WhenAll(loops.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
        }

        foreach (var loop in loops)
        {
            Assert.That(loop.IsFaulted, Is.False, () => loop.Exception!.ToString());
        }
    }

    private static long Completed(Client[] clients)
    {
        long sum = 0;
        foreach (var client in clients)
        {
            sum += client.Completed;
        }

        return sum;
    }

    // Polls without allocating (no timers, no tasks) until the clients have completed `count` requests.
    private static void WaitFor(Client[] clients, Task[] loops, long count)
    {
        while (Completed(clients) < count)
        {
            if (Array.Find(loops, l => l.IsCompleted) is { } ended)
            {
                Assert.Fail($"a client loop ended early: {ended.Exception?.ToString() ?? "the balancer closed the connection"}");
            }

            Thread.Sleep(20);
        }
    }

    // Returns true when `buffer[..length]` ends with `tail`.
    private static bool EndsWith(byte[] buffer, int length, byte[] tail) =>
        length >= tail.Length && buffer.AsSpan(length - tail.Length, tail.Length).SequenceEqual(tail);

    // One keep-alive connection to the balancer: send a request, read until the response's end
    // (then send the rest of the request, if it has one), again.
    private sealed class Client : IDisposable
    {
        private static readonly byte[] ResponseEnd = "\r\n\r\nok"u8.ToArray();
        private readonly Socket _socket;
        private readonly byte[] _request;
        private readonly byte[]? _rest;
        private readonly byte[] _buffer = new byte[4096];
        private long _completed;

        private Client(Socket socket, byte[] request, byte[]? rest)
        {
            _socket = socket;
            _request = request;
            _rest = rest;
        }

        public long Completed => Volatile.Read(ref _completed);

        public static async Task<Client> ConnectAsync(IPEndPoint endPoint, byte[] request, byte[]? rest)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint);
            return new Client(socket, request, rest);
        }

        public async Task RunAsync(CancellationToken stop)
        {
            try
            {
                await RunUntilAsync(stop);
            }
            catch (Exception e) when (stop.IsCancellationRequested && e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The test is over: its sockets were closed under the loop.
            }
        }

        private async Task RunUntilAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                await _socket.SendAsync(_request.AsMemory(), SocketFlags.None, CancellationToken.None);
                int length = 0;
                while (!EndsWith(_buffer, length, ResponseEnd))
                {
                    int read = await _socket.ReceiveAsync(_buffer.AsMemory(length), SocketFlags.None, CancellationToken.None);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                if (_rest is not null)
                {
                    await _socket.SendAsync(_rest.AsMemory(), SocketFlags.None, CancellationToken.None);
                }

                Interlocked.Increment(ref _completed);
            }
        }

        public void Dispose() => _socket.Dispose();
    }

    // A backend on 127.0.0.1 port 0 that answers every request ending in `end` with Response.
    private sealed class Backend : IDisposable
    {
        private readonly Socket _listener = new(SocketType.Stream, ProtocolType.Tcp);
        private readonly byte[] _end;
        private readonly List<Socket> _accepted = [];

        public Backend(byte[] end)
        {
            _end = end;
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(512);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _ = AcceptAsync();
        }

        public int Port { get; }

        public void Dispose()
        {
            _listener.Dispose();
            lock (_accepted)
            {
                foreach (var socket in _accepted)
                {
                    socket.Dispose();
                }
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync();
                    socket.NoDelay = true;
                    lock (_accepted)
                    {
                        _accepted.Add(socket);
                    }

                    _ = ServeAsync(socket);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The test is over.
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    int length = 0;
                    while (!EndsWith(buffer, length, _end))
                    {
                        int read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
                        if (read == 0)
                        {
                            return;
                        }

                        length += read;
                    }

                    await socket.SendAsync(Response.AsMemory(), SocketFlags.None);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The balancer closed the connection, or the test is over.
            }
        }
    }
}
