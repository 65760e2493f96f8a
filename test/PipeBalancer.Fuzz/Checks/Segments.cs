using System.Buffers;

namespace PipeBalancer.Fuzz;

/// <summary>Builds multi-segment sequences, the shape a pipe hands over after many small reads.</summary>
internal static class Segments
{
    /// <summary>The bytes of <paramref name="data"/>, one byte per segment (one empty segment when empty).</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return new ReadOnlySequence<byte>(data.ToArray());
        }

        var first = new Segment(new[] { data[0] }, 0);
        var last = first;
        for (int i = 1; i < data.Length; i++)
        {
            last = last.Append(new[] { data[i] });
        }

        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    /// <summary>
    /// The contiguous view the connection gives a head parser: the first segment when it holds
    /// everything, else a copy of the first <paramref name="scratchSize"/> bytes.
    /// </summary>
    public static ReadOnlyMemory<byte> View(in ReadOnlySequence<byte> sequence, int scratchSize) =>
        sequence.IsSingleSegment ? sequence.First : PipeBalancer.Http1.HeadParser.Contiguous(sequence, new byte[scratchSize]);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
