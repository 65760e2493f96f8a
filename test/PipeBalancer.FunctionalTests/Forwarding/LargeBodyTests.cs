using System.Net;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>Bodies are streamed, never buffered whole: memory stays flat whatever their size.</summary>
[NonParallelizable]
public sealed class LargeBodyTests
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    // The balancer runs in the test process, so its memory is measured as the managed heap
    // after a full collection, taken while the transfer is in flight.
    private const long MaxHeapGrowth = 24L * 1024 * 1024;

    [Test]
    public async Task HundredMegabyteUpload_IsStreamed()
    {
        await using var backend = await TestBackend.StartAsync("sink");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = balancer.CreateClient();
        long before = Heap();
        long peak = 0;
        var content = new GeneratedContent(HundredMegabytes, () => peak = Math.Max(peak, Heap() - before));
        using var response = await client.PostAsync("/sink", content);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(HundredMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(peak, Is.LessThan(MaxHeapGrowth));
        });
    }

    [Test]
    public async Task HundredMegabyteDownload_IsStreamed()
    {
        await using var backend = await TestBackend.StartAsync("big");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = balancer.CreateClient();
        long before = Heap();
        using var response = await client.GetAsync($"/big/{HundredMegabytes}", HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        long total = 0;
        long peak = 0;
        int read;
        int reads = 0;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
            if (++reads % 256 == 0)
            {
                peak = Math.Max(peak, Heap() - before);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(total, Is.EqualTo(HundredMegabytes));
            Assert.That(peak, Is.LessThan(MaxHeapGrowth));
        });
    }

    [Test]
    public async Task SlowReader_ThrottlesTheBackend_InsteadOfGrowingMemory()
    {
        await using var backend = await TestBackend.StartAsync("big");
        await using var balancer = await TestBalancer.StartAsync(backend);
        using var client = await RawClient.ConnectAsync(balancer.EndPoint);
        long before = Heap();
        await client.SendAsync($"GET /big/{50L * 1024 * 1024} HTTP/1.1\r\nHost: x\r\n\r\n");

        // Read nothing for a while: the backend can only get as far ahead as the socket buffers
        // and the balancer's pipes allow.
        await Task.Delay(1000);
        long stalled = Heap() - before;
        var buffer = new byte[1024 * 1024];
        long total = 0;
        int read;
        while ((read = await client.Socket.ReceiveAsync(buffer)) > 0)
        {
            total += read;
            if (total > 50L * 1024 * 1024)
            {
                break;
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(stalled, Is.LessThan(MaxHeapGrowth), "memory while the client reads nothing");
            Assert.That(total, Is.GreaterThan(50L * 1024 * 1024), "everything arrives once the client reads");
        });
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A body generated on the fly, sampling memory as it goes.</summary>
    private sealed class GeneratedContent(long length, Action sample) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[64 * 1024];
            Array.Fill(block, (byte)'u');
            long sent = 0;
            int blocks = 0;
            while (sent < length)
            {
                int size = (int)Math.Min(block.Length, length - sent);
                await stream.WriteAsync(block.AsMemory(0, size));
                sent += size;
                if (++blocks % 256 == 0)
                {
                    sample();
                }
            }
        }

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }
}
