using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PipeBalancer.Load;

/// <summary>
/// Many keep-alive clients that each send one GET, read the whole response and then stay
/// connected without sending anything: what a proxy pays per idle connection.
/// </summary>
internal sealed class IdleClients : IDisposable
{
    private readonly List<Socket> _sockets = [];

    public int Failed { get; private set; }

    public string? FirstError { get; private set; }

    public int Connected => _sockets.Count;

    /// <summary>Opens <paramref name="count"/> clients to 127.0.0.1:<paramref name="port"/>, 200 at a time.</summary>
    public static async Task<IdleClients> OpenAsync(int port, int count, CancellationToken cancel)
    {
        var clients = new IdleClients();
        using var gate = new SemaphoreSlim(200);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(cancel);
            try
            {
                var socket = await ConnectAndGetAsync(port, i, cancel);
                lock (clients._sockets)
                {
                    clients._sockets.Add(socket);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException or TimeoutException)
            {
                lock (clients._sockets)
                {
                    clients.Failed++;
                    clients.FirstError ??= e.Message;
                }
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch
        {
            clients.Dispose();
            throw;
        }

        return clients;
    }

    public void Dispose()
    {
        lock (_sockets)
        {
            foreach (var s in _sockets)
            {
                s.Dispose();
            }

            _sockets.Clear();
        }
    }

    private static async Task<Socket> ConnectAndGetAsync(int port, int index, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
                var request = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"GET /p/{index} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"));
                await socket.SendAsync(request, SocketFlags.None, timeout.Token);
                await ReadResponseAsync(socket, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new TimeoutException("no response within 30 s");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Reads one response with a Content-Length body (all nginx sends for these paths).
    private static async Task ReadResponseAsync(Socket socket, CancellationToken cancel)
    {
        var buffer = new byte[8192];
        var filled = 0;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel);
            if (n == 0)
            {
                throw new IOException("the connection was closed before the whole response came");
            }

            filled += n;
            var text = Encoding.ASCII.GetString(buffer, 0, filled);
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd < 0)
            {
                if (filled == buffer.Length)
                {
                    throw new InvalidDataException("response head longer than 8 KB");
                }

                continue;
            }

            var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
            var parts = statusLine.Split(' ');
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length != 3 || parts[1][0] is not ('2' or '3'))
            {
                throw new InvalidDataException($"response '{statusLine}'");
            }

            var length = 0;
            foreach (var line in text[..headEnd].Split("\r\n"))
            {
                if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
                {
                    length = int.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
                }
            }

            if (filled >= headEnd + 4 + length)
            {
                return;
            }
        }
    }
}
