using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>A response as read off the wire.</summary>
public sealed record RawResponse(int Status, string Head, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name)
    {
        foreach (string line in Head.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }
}

/// <summary>A client that writes raw bytes and reads responses by their framing, for what HttpClient will not send.</summary>
public sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly List<byte> _pending = [];

    private RawClient()
    {
    }

    public Socket Socket => _socket;

    /// <summary>Whether something accepts connections at <paramref name="endPoint"/>.</summary>
    public static bool Accepts(IPEndPoint endPoint)
    {
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint)
    {
        var client = new RawClient();
        await client._socket.ConnectAsync(endPoint);
        return client;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Reads one response; null when the connection closes first.</summary>
    public async Task<RawResponse?> ReadResponseAsync(bool headRequest = false, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        int end;
        while ((end = IndexOfBlankLine()) < 0)
        {
            if (!await FillAsync(cts.Token))
            {
                return null;
            }
        }

        string head = Encoding.Latin1.GetString(_pending.GetRange(0, end).ToArray());
        _pending.RemoveRange(0, end + 4);
        int status = int.Parse(head.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
        var response = new RawResponse(status, head, []);
        if (headRequest || status is 204 or 304 or (>= 100 and < 200))
        {
            return response;
        }

        if (response.Header("Content-Length") is { } length)
        {
            return response with { Body = await ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), cts.Token) };
        }

        if (response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
        {
            var body = new List<byte>();
            while (true)
            {
                string sizeLine = await ReadLineAsync(cts.Token);
                int size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0)
                {
                    while ((await ReadLineAsync(cts.Token)).Length > 0)
                    {
                    }

                    return response with { Body = [.. body] };
                }

                body.AddRange(await ReadExactlyAsync(size, cts.Token));
                await ReadLineAsync(cts.Token);
            }
        }

        return response with { Body = await ReadToEndAsync(cts.Token) };
    }

    /// <summary>Whether the server closed the connection (reads until end of stream or reset, within the timeout).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            while (await FillAsync(cts.Token))
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task<byte[]> ReadToEndAsync(CancellationToken token)
    {
        while (await FillAsync(token))
        {
        }

        var all = _pending.ToArray();
        _pending.Clear();
        return all;
    }

    public void Dispose() => _socket.Dispose();

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken token)
    {
        while (_pending.Count < count)
        {
            if (!await FillAsync(token))
            {
                throw new IOException($"connection closed after {_pending.Count} of {count} body bytes");
            }
        }

        var bytes = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return bytes;
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        int lf;
        while ((lf = _pending.IndexOf((byte)'\n')) < 0)
        {
            if (!await FillAsync(token))
            {
                throw new IOException("connection closed inside a line");
            }
        }

        string line = Encoding.Latin1.GetString(_pending.GetRange(0, lf).ToArray()).TrimEnd('\r');
        _pending.RemoveRange(0, lf + 1);
        return line;
    }

    private int IndexOfBlankLine()
    {
        for (int i = 0; i + 3 < _pending.Count; i++)
        {
            if (_pending[i] == '\r' && _pending[i + 1] == '\n' && _pending[i + 2] == '\r' && _pending[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private async Task<bool> FillAsync(CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        int read = await _socket.ReceiveAsync(buffer, SocketFlags.None, token);
        _pending.AddRange(buffer.AsSpan(0, read).ToArray());
        return read > 0;
    }
}
