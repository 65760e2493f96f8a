using System.Buffers;
using System.IO.Pipelines;

namespace PipeBalancer.Forwarding;

/// <summary>Copies one pipe into another until the source ends, then passes the end on (half-close).</summary>
internal static class Splice
{
    /// <summary>Copies <paramref name="from"/> into <paramref name="to"/>; completes <paramref name="to"/> when <paramref name="from"/> ends.</summary>
    public static async Task CopyAsync(PipeReader from, PipeWriter to)
    {
        try
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
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }

                if ((await to.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    break;
                }
            }

            await to.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            // A reset on either side ends the copy; the other direction ends on its own.
        }
        finally
        {
            await from.CompleteAsync().ConfigureAwait(false);
            await to.CompleteAsync().ConfigureAwait(false);
        }
    }
}
