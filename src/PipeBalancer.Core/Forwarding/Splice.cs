using System.Buffers;
using System.IO.Pipelines;

namespace PipeBalancer.Forwarding;

/// <summary>Copies one pipe into another until the source ends, then passes the end on (half-close).</summary>
internal static class Splice
{
    /// <summary>
    /// Copies <paramref name="from"/> into <paramref name="to"/>; completes <paramref name="to"/> when <paramref name="from"/> ends.
    /// A network fault on either side ends the copy quietly; any other exception is the balancer's own and reaches the caller.
    /// </summary>
    public static async Task CopyAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            await CopyToEndAsync(from, to).ConfigureAwait(false);
            await to.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (NetworkFault.Is(e))
        {
            // A reset on either side ends the copy; the other direction ends on its own.
        }
        finally
        {
            await from.CompleteAsync().ConfigureAwait(false);
            await to.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies until <paramref name="from"/> ends (true), or until the read is canceled or
    /// <paramref name="to"/> stops accepting (false). Completes neither pipe.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> CopyToEndAsync(PipeReader from, PipeWriter to)
    {
        while (true)
        {
            var result = await from.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                to.Write(segment.Span);
            }

            from.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return true;
            }

            if (result.IsCanceled || (await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
            {
                return false;
            }
        }
    }
}
