using System.Buffers;
using System.IO.Pipelines;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Writes the pieces of a message head into one span of a <see cref="PipeWriter"/> and commits
/// them with a single <see cref="PipeWriter.Advance"/>. A head is written in ten or so pieces
/// (the request line, runs of kept fields, the X-Forwarded-* fields); writing each with
/// <c>PipeWriter.Write</c> would take the pipe's lock once per piece.
/// </summary>
internal ref struct HeadWriter
{
    private readonly PipeWriter _output;
    private Span<byte> _span;
    private int _written;

    /// <summary>Starts writing into <paramref name="output"/>, asking for room for <paramref name="sizeHint"/> bytes.</summary>
    public HeadWriter(PipeWriter output, int sizeHint)
    {
        _output = output;
        _span = output.GetSpan(sizeHint);
        _written = 0;
    }

    /// <summary>Appends <paramref name="bytes"/>; a piece that does not fit commits what is written and takes a new span.</summary>
    public void Write(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= _span.Length - _written)
        {
            bytes.CopyTo(_span[_written..]);
            _written += bytes.Length;
            return;
        }

        WriteSlow(bytes);
    }

    /// <summary>Commits everything written.</summary>
    public void Commit()
    {
        if (_written > 0)
        {
            _output.Advance(_written);
            _written = 0;
        }

        _span = default;
    }

    private void WriteSlow(scoped ReadOnlySpan<byte> bytes)
    {
        Commit();
        _output.Write(bytes);
        _span = _output.GetSpan();
    }
}
