using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using PipeBalancer.Http1;
using PipeBalancer.Runtime;

namespace PipeBalancer.Forwarding;

/// <summary>
/// Copies a response body from the backend to the client by its framing: everything that has
/// arrived goes out in one pass and one flush per read, never a flush per pipe segment; a body
/// whose length is known goes out corked after its first flush.
/// </summary>
internal static class BodyRelay
{
    /// <summary>True when the whole body went out; false when the backend broke off or sent a broken framing, or the client went away.</summary>
    /// <param name="from">The backend's pipe, positioned after the response head.</param>
    /// <param name="to">The client's pipe.</param>
    /// <param name="body">The body's framing.</param>
    /// <param name="cork">
    /// The client's socket, for a body whose end is known: after the first flush (the head and
    /// the first bytes go out at once) it is corked (<see cref="TcpCork"/>) until the last bytes
    /// are flushed, so the rest leaves in full segments; null to leave the socket alone.
    /// </param>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public static async ValueTask<bool> CopyAsync<TBody>(PipeReader from, PipeWriter to, TBody body, Socket? cork = null)
        where TBody : struct, IBodyFraming
    {
        bool corked = false;
        try
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
                    // Corked: the last bytes join the held segment before the cork is released.
                    return !corked || !(await to.FlushAsync().ConfigureAwait(false)).IsCompleted;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return result.IsCompleted && body.EndsAtClose && (await to.FlushAsync().ConfigureAwait(false)) is { IsCompleted: false };
                }

                if ((await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    return false;
                }

                if (cork is not null && !corked)
                {
                    TcpCork.Hold(cork);
                    corked = true;
                }
            }
        }
        finally
        {
            if (corked)
            {
                TcpCork.Release(cork);
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
