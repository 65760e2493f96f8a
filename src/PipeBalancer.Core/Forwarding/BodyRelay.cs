using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Copies a response body from the backend to the client by its framing: everything that has
/// arrived goes out in one pass and one flush per read, never a flush per pipe segment.
/// </summary>
internal static class BodyRelay
{
    /// <summary>True when the whole body went out; false when the backend broke off or sent a broken framing, or the client went away.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public static async ValueTask<bool> CopyAsync<TBody>(PipeReader from, PipeWriter to, TBody body)
        where TBody : struct, IBodyFraming
    {
        while (true)
        {
            var result = await from.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = body.Take(buffer, out long take, out _);
            if (status == ParseStatus.Error)
            {
                from.AdvanceTo(buffer.End);
                return false;
            }

            Write(to, buffer.Slice(0, take));
            from.AdvanceTo(buffer.GetPosition(take));
            if (status == ParseStatus.Complete)
            {
                return true;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return result.IsCompleted && body.EndsAtClose && (await to.FlushAsync().ConfigureAwait(false)) is { IsCompleted: false };
            }

            if ((await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return false;
            }
        }
    }

    /// <summary>Writes every segment of <paramref name="bytes"/> (no flush).</summary>
    public static void Write(PipeWriter to, in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            to.Write(bytes.FirstSpan);
            return;
        }

        foreach (var segment in bytes)
        {
            to.Write(segment.Span);
        }
    }
}
