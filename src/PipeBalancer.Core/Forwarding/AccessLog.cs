using System.Buffers.Text;
using System.Diagnostics;
using System.Text;

namespace PipeBalancer.Forwarding;

/// <summary>
/// One line per proxied request (<c>--access-log</c>), buffered: a request formats its line
/// straight into a 64 KB buffer (no strings, no allocation) and a background task writes full
/// or aging buffers out every 200 ms. When the output cannot keep up, lines are dropped and
/// counted rather than slowing the forwarding path.
/// </summary>
/// <remarks>
/// Text: <c>2026-11-25T10:00:00.123Z 10.0.0.7 "GET /users/1 HTTP/1.1" 200 s1 0.412</c> (the last
/// field is milliseconds from the request head to the end of the response; with request ids on,
/// the request's id follows it). JSON lines carry
/// the same fields: <c>time, client, method, target, version, status, backend, ms</c> (and <c>requestId</c>).
/// </remarks>
internal sealed class AccessLog : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int MaxLine = 4096;
    private static readonly TimeSpan FlushEvery = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly Stream _output;
    private readonly bool _json;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private readonly SemaphoreSlim _full = new(0, 1);
    private int _disposed;
    private byte[] _current = new byte[BufferSize];
    private byte[]? _spare = new byte[BufferSize];
    private byte[]? _pending;
    private int _pendingLength;
    private int _length;
    private long _dropped;

    /// <summary>Starts writing lines to <paramref name="output"/>.</summary>
    public AccessLog(Stream output, bool json)
    {
        _output = output;
        _json = json;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Lines dropped because the output fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Appends one request's line.</summary>
    public void Write(ReadOnlySpan<byte> client, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, bool http11, int status, string? backend, long startTimestamp,
        ReadOnlySpan<byte> requestId = default)
    {
        Span<byte> line = stackalloc byte[MaxLine];
        int length = Format(line, client, method, target, http11, status, backend, Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds, requestId);
        lock (_lock)
        {
            if (_length + length > _current.Length)
            {
                if (_pending is not null || _spare is null)
                {
                    // The writer still holds the other buffer.
                    _dropped++;
                    return;
                }

                _pending = _current;
                _pendingLength = _length;
                _current = _spare;
                _spare = null;
                _length = 0;
                if (_full.CurrentCount == 0)
                {
                    _full.Release();
                }
            }

            line[..length].CopyTo(_current.AsSpan(_length));
            _length += length;
        }
    }

    private int Format(Span<byte> line, ReadOnlySpan<byte> client, ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, bool http11, int status, string? backend, double ms,
        ReadOnlySpan<byte> requestId)
    {
        // Targets longer than a line can hold are cut; the line stays one line.
        // (A request id, at most 200 visible characters, may take six bytes each when escaped.)
        int room = MaxLine - 512 - 6 * requestId.Length;
        if (target.Length > room)
        {
            target = target[..room];
        }

        var w = new LineWriter(line, _json);
        DateTime now = DateTime.UtcNow;
        if (_json)
        {
            w.Ascii("{\"time\":\"");
            w.Time(now);
            w.Ascii("\",\"client\":\"");
            w.Bytes(client);
            w.Ascii("\",\"method\":\"");
            w.Escaped(method);
            w.Ascii("\",\"target\":\"");
            w.Escaped(target);
            w.Ascii(http11 ? "\",\"version\":\"HTTP/1.1\",\"status\":" : "\",\"version\":\"HTTP/1.0\",\"status\":");
            w.Number(status);
            w.Ascii(",\"backend\":");
            if (backend is null)
            {
                w.Ascii("null");
            }
            else
            {
                w.Ascii("\"");
                w.Ascii(backend);
                w.Ascii("\"");
            }

            w.Ascii(",\"ms\":");
            w.Decimal(ms);
            if (!requestId.IsEmpty)
            {
                w.Ascii(",\"requestId\":\"");
                w.Escaped(requestId);
                w.Ascii("\"");
            }

            w.Ascii("}\n");
        }
        else
        {
            w.Time(now);
            w.Ascii(" ");
            w.Bytes(client);
            w.Ascii(" \"");
            w.Escaped(method);
            w.Ascii(" ");
            w.Escaped(target);
            w.Ascii(http11 ? " HTTP/1.1\" " : " HTTP/1.0\" ");
            w.Number(status);
            w.Ascii(" ");
            w.Ascii(backend ?? "-");
            w.Ascii(" ");
            w.Decimal(ms);
            if (!requestId.IsEmpty)
            {
                w.Ascii(" ");
                w.Escaped(requestId);
            }

            w.Ascii("\n");
        }

        return w.Length;
    }

    private async Task WriteLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _full.WaitAsync(FlushEvery, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await FlushAsync().ConfigureAwait(false);
        }

        // Stopping: a full buffer and the one being filled may both hold lines.
        while (await FlushAsync().ConfigureAwait(false))
        {
        }
    }

    // Writes a full buffer, or else the lines gathered so far; false when there was nothing.
    private async Task<bool> FlushAsync()
    {
        byte[]? full;
        int fullLength;
        byte[]? aging = null;
        int agingLength = 0;
        lock (_lock)
        {
            full = _pending;
            fullLength = _pendingLength;
            if (full is null && _length > 0 && _spare is not null)
            {
                // Nothing filled up: take what is there, so that no line waits long.
                aging = _current;
                agingLength = _length;
                _current = _spare;
                _spare = null;
                _length = 0;
            }
        }

        try
        {
            if (full is not null)
            {
                await _output.WriteAsync(full.AsMemory(0, fullLength)).ConfigureAwait(false);
            }

            if (aging is not null)
            {
                await _output.WriteAsync(aging.AsMemory(0, agingLength)).ConfigureAwait(false);
            }

            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The output is gone (a closed pipe): the lines are lost, the balancer goes on.
        }

        lock (_lock)
        {
            if (full is not null)
            {
                _pending = null;
                _spare = full;
            }

            if (aging is not null)
            {
                _spare ??= aging;
            }
        }

        return full is not null || aging is not null;
    }

    /// <summary>Writes what is buffered and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        // The host and the state may both dispose it on the way out: the second call has nothing to do.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        _stop.Dispose();
        _full.Dispose();
    }

    private ref struct LineWriter(Span<byte> buffer, bool json)
    {
        private readonly Span<byte> _buffer = buffer;
        private readonly bool _json = json;

        public int Length { get; private set; }

        public void Ascii(string text) => Length += Encoding.ASCII.GetBytes(text, _buffer[Length..]);

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[Length..]);
            Length += bytes.Length;
        }

        // Quotes, backslashes and control bytes would break the line (or the JSON): \xNN them
        // (\u00NN in JSON). A parsed request target has no such bytes; this is a second guard.
        public void Escaped(ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes)
            {
                if (b is (byte)'"' or (byte)'\\' or < 0x20 or >= 0x7f)
                {
                    _buffer[Length++] = (byte)'\\';
                    if (_json)
                    {
                        _buffer[Length++] = (byte)'u';
                        _buffer[Length++] = (byte)'0';
                        _buffer[Length++] = (byte)'0';
                    }
                    else
                    {
                        _buffer[Length++] = (byte)'x';
                    }

                    _buffer[Length++] = "0123456789abcdef"u8[b >> 4];
                    _buffer[Length++] = "0123456789abcdef"u8[b & 0xf];
                }
                else
                {
                    _buffer[Length++] = b;
                }
            }
        }

        public void Number(int value)
        {
            Utf8Formatter.TryFormat(value, _buffer[Length..], out int written);
            Length += written;
        }

        public void Decimal(double value)
        {
            Utf8Formatter.TryFormat(Math.Round(value, 3), _buffer[Length..], out int written, new System.Buffers.StandardFormat('F', 3));
            Length += written;
        }

        public void Time(DateTime utc)
        {
            utc.TryFormat(_buffer[Length..], out int written, "yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
            Length += written;
        }
    }
}
