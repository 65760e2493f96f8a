using System.Buffers;
using PipeBalancer.Http1;

namespace PipeBalancer.Fuzz;

/// <summary>
/// The invariants of <see cref="ChunkedReader.Read"/> on any input: no exception, consumed
/// within the buffer (all of it while Incomplete), the same verdict in one segment, one byte
/// per segment and one byte per call, and an accepted body that, decoded by a plain reference
/// decoder and encoded again without extensions, is accepted with the same data length.
/// </summary>
internal static class ChunkedBodyChecks
{
    public static void Check(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        var reader = default(ChunkedReader);
        string whole = Read(ref reader, new ReadOnlySequence<byte>(bytes), out var status, out long consumed);
        InvariantViolation.Require(consumed >= 0 && consumed <= bytes.Length, $"consumed {consumed} of {bytes.Length}");
        InvariantViolation.Require(status != ParseStatus.Incomplete || consumed == bytes.Length, $"Incomplete but consumed {consumed} of {bytes.Length}");
        InvariantViolation.Require(reader.IsComplete == (status == ParseStatus.Complete), $"IsComplete {reader.IsComplete} with {status}");

        var split = default(ChunkedReader);
        InvariantViolation.Same(whole, Read(ref split, Segments.OneBytePerSegment(bytes), out _, out _), "one byte per segment");

        // One byte per call, as a slow client sends it: the reader keeps its state between calls.
        var stepped = default(ChunkedReader);
        var stepStatus = ParseStatus.Incomplete;
        var stepReason = RejectReason.None;
        long total = 0;
        for (int i = 0; i < bytes.Length && stepStatus == ParseStatus.Incomplete; i++)
        {
            stepStatus = stepped.Read(new ReadOnlySequence<byte>(bytes, i, 1), out long stepConsumed, out stepReason);
            total += stepConsumed;
        }

        InvariantViolation.Same(whole, Describe(stepStatus, total, stepReason, stepped.DataBytes), "one byte per call");

        if (status == ParseStatus.Complete)
        {
            byte[] again = Reencode(bytes.AsSpan(0, (int)consumed), out long dataBytes);
            InvariantViolation.Require(dataBytes == reader.DataBytes, $"reference decoder counts {dataBytes} data bytes, the reader {reader.DataBytes}");
            var againReader = default(ChunkedReader);
            string reread = Read(ref againReader, new ReadOnlySequence<byte>(again), out var againStatus, out long againConsumed);
            InvariantViolation.Require(againStatus == ParseStatus.Complete && againConsumed == again.Length && againReader.DataBytes == dataBytes,
                $"re-encoded body: {reread} of {again.Length}");
        }
    }

    /// <summary>Reads and describes the verdict.</summary>
    public static string Read(ref ChunkedReader reader, in ReadOnlySequence<byte> buffer, out ParseStatus status, out long consumed)
    {
        status = reader.Read(buffer, out consumed, out var reason);
        return Describe(status, consumed, reason, reader.DataBytes);
    }

    /// <summary>A verdict as text; a reason goes with an error and only with one.</summary>
    public static string Describe(ParseStatus status, long consumed, RejectReason reason, long dataBytes) => status switch
    {
        ParseStatus.Error when reason != RejectReason.None => $"Error {consumed} {reason}",
        ParseStatus.Complete or ParseStatus.Incomplete when reason == RejectReason.None => $"{status} {consumed} data={dataBytes}",
        _ => throw new InvariantViolation($"{status} with reason {reason}"),
    };

    /// <summary>
    /// Decodes an accepted body the plain way (size, extension skipped, data, CRLF; trailers to
    /// the blank line) and writes it again with bare hexadecimal sizes and the same trailers.
    /// </summary>
    public static byte[] Reencode(ReadOnlySpan<byte> body, out long dataBytes)
    {
        var output = new List<byte>(body.Length);
        dataBytes = 0;
        int i = 0;
        while (true)
        {
            int lineEnd = body[i..].IndexOf("\r\n"u8) + i;
            var sizeText = body[i..lineEnd];
            int digits = 0;
            while (digits < sizeText.Length && Uri.IsHexDigit((char)sizeText[digits]))
            {
                digits++;
            }

            ulong size = 0;
            foreach (byte b in sizeText[..digits])
            {
                size = (size << 4) | (uint)Convert.ToInt32(((char)b).ToString(), 16);
            }

            i = lineEnd + 2;
            if (size == 0)
            {
                output.AddRange("0\r\n"u8);
                output.AddRange(body[i..]);
                return [.. output];
            }

            output.AddRange(System.Text.Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            output.AddRange(body.Slice(i, (int)size));
            output.AddRange("\r\n"u8);
            dataBytes += (long)size;
            i += (int)size + 2;
        }
    }
}
