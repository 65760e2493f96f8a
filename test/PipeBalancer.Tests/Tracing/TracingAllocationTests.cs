using System.Diagnostics;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Tests.Forwarding;
using PipeBalancer.Tracing;

namespace PipeBalancer.Tests.Tracing;

/// <summary>
/// Bytes allocated per proxied request with trace context in play, measured as
/// <see cref="AllocationTests"/> measures the plain path: tracing off, request ids and trace
/// propagation without a listener cost nothing; a recorded span costs its Activity and tags.
/// </summary>
[NonParallelizable]
[CancelAfter(60_000)]
public sealed class TracingAllocationTests
{
    private const int Warmup = 300;
    private const int Measured = 2000;
    private const string Sampled = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ntracestate: congo=t61rcWkgMzE\r\n";

    [Test]
    public async Task TracingOff_RequestWithTraceContext_AllocatesNothingPerRequest()
    {
        double perRequest = await MeasureAsync(c => c, "GET /a HTTP/1.1\r\nHost: x\r\n" + Sampled + "X-Request-Id: abc\r\n\r\n");
        Assert.That(perRequest, Is.LessThan(1.0));
    }

    [Test]
    public async Task RequestIds_GeneratedAndKept_AllocateNothingPerRequest()
    {
        var on = (Func<BalancerConfig, BalancerConfig>)(c => c with { RequestId = new RequestIdConfig { Enabled = true } });
        double generated = await MeasureAsync(on, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        double kept = await MeasureAsync(on, "GET /a HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(generated, Is.LessThan(1.0), "a new id is written into the connection's buffer");
            Assert.That(kept, Is.LessThan(1.0));
        });
    }

    [Test]
    public async Task TracingOnWithoutListener_PropagationAllocatesNothingPerRequest()
    {
        double perRequest = await MeasureAsync(c => c with { Tracing = new TracingConfig { Enabled = true } }, "GET /a HTTP/1.1\r\nHost: x\r\n" + Sampled + "\r\n");
        Assert.That(perRequest, Is.LessThan(1.0));
    }

    [Test]
    public async Task TracingOnAndRecorded_AllocatesItsSpanOnly()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ProxyActivity.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        double perRequest = await MeasureAsync(c => c with { Tracing = new TracingConfig { Enabled = true } }, "GET /a HTTP/1.1\r\nHost: x\r\n" + Sampled + "\r\n");
        TestContext.Out.WriteLine($"tracing on, span recorded: {perRequest:F0} bytes per request");

        // The Activity, its tag list and boxed numbers, the url.path string, and the execution
        // context Activity.Current swaps in: well under a kilobyte and a half (docs/tracing.md).
        Assert.That(perRequest, Is.GreaterThan(0).And.LessThan(1536));
    }

    private static async Task<double> MeasureAsync(Func<BalancerConfig, BalancerConfig> configure, string request)
    {
        var end = "\r\n\r\n"u8.ToArray();
        await using var proxy = new ProxyHarness(1, backend => AllocationTests.ServeAsync(backend, end), configure);
        var (client, handler, _) = proxy.ConnectHttp();
        var bytes = Encoding.ASCII.GetBytes(request);
        for (int i = 0; i < Warmup; i++)
        {
            await AllocationTests.ExchangeAsync(client, bytes);
        }

        // The counter sees every thread: on a busy machine a round can catch the runtime's own
        // work (a thread injected into the pool), which only ever adds. The least of three
        // rounds is the request's own cost.
        double least = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Measured; i++)
            {
                await AllocationTests.ExchangeAsync(client, bytes);
            }

            least = Math.Min(least, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Measured);
        }

        await client.Output.CompleteAsync();
        await handler;
        return least;
    }
}
