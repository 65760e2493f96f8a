namespace PipeBalancer.Hosting;

/// <summary>
/// A log file that can be reopened at the same path (<c>--log-file</c>, <c>--access-log-file</c>):
/// logrotate renames the file, then sends SIGUSR1, and the next lines go to a new file at the
/// path (nginx's semantics). Writes append; a write and a reopen never overlap.
/// </summary>
internal sealed class ReopenableFile : Stream
{
    private readonly Lock _lock = new();
    private FileStream _file;

    private ReopenableFile(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    /// <summary>The path, as given on the command line.</summary>
    public string Path { get; }

    /// <summary>Opens (creating or appending to) <paramref name="path"/>; null with the reason when it cannot.</summary>
    public static ReopenableFile? TryOpen(string path, out string? error)
    {
        var file = TryOpenFile(path, out error);
        return file is null ? null : new ReopenableFile(path, file);
    }

    /// <summary>
    /// Closes the file and opens the path again: lines written so far stay in the old file
    /// (renamed or not), the next ones go to the file now at the path. When the path cannot be
    /// opened, writing goes on to the old file and the reason is returned.
    /// </summary>
    public bool TryReopen(out string? error)
    {
        var next = TryOpenFile(Path, out error);
        if (next is null)
        {
            return false;
        }

        FileStream old;
        lock (_lock)
        {
            old = _file;
            _file = next;
            old.Flush();
        }

        old.Dispose();
        return true;
    }

    private static FileStream? TryOpenFile(string path, out string? error)
    {
        try
        {
            error = null;

            // No buffer of its own: the writers (the logger, the access log) hand over whole lines
            // or whole batches.
            return new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot open {path}: {e.Message}";
            return null;
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            _file.Write(buffer);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    // A local file: the write is short, and the writers run on background threads.
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
        lock (_lock)
        {
            _file.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_lock)
            {
                _file.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
