using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>
/// Bytes allocated per proxied request in steady state, over in-memory pipes whose
/// continuations run inline: the whole path (session, exchange, body pump, response relay),
/// counted by the runtime's allocation counter over every thread.
/// </summary>
[NonParallelizable]
[CancelAfter(60_000)]
public sealed class AllocationTests
{
    private const int Warmup = 300;
    private const int Measured = 2000;
    internal static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [TestCase("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "\r\n\r\n", TestName = "Get_AllocatesNothingPerRequest")]
    [TestCase("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello-world", "hello-world", TestName = "PostWithContentLength_AllocatesNothingPerRequest")]
    [TestCase("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n-world\r\n0\r\n\r\n", "0\r\n\r\n", TestName = "PostChunked_AllocatesNothingPerRequest")]
    public async Task SteadyState(string request, string requestEnd)
    {
        var end = Encoding.ASCII.GetBytes(requestEnd);
        await using var proxy = new ProxyHarness(1, backend => ServeAsync(backend, end));
        var (client, handler, _) = proxy.ConnectHttp();
        var bytes = Encoding.ASCII.GetBytes(request);

        // Let the handler and the backend script reach their first read before counting.
        for (int i = 0; i < Warmup; i++)
        {
            await ExchangeAsync(client, bytes);
        }

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Measured; i++)
        {
            await ExchangeAsync(client, bytes);
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        await client.Output.CompleteAsync();
        await handler;
        Assert.That(allocated / (double)Measured, Is.LessThan(1.0), $"{allocated} bytes over {Measured} requests");
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    internal static async ValueTask ExchangeAsync(IDuplexPipe client, byte[] request)
    {
        await client.Output.WriteAsync(request);
        long remaining = Response.Length;
        while (remaining > 0)
        {
            var result = await client.Input.ReadAsync();
            long take = Math.Min(result.Buffer.Length, remaining);
            remaining -= take;
            client.Input.AdvanceTo(result.Buffer.GetPosition(take));
            if (result.IsCompleted && remaining > 0)
            {
                throw new InvalidOperationException("the balancer closed the connection");
            }
        }
    }

    // Answers every request that ends with `end` with the same small response.
    internal static async Task ServeAsync(IDuplexPipe backend, byte[] end)
    {
        var tail = new byte[end.Length];
        while (true)
        {
            var result = await backend.Input.ReadAsync();
            var buffer = result.Buffer;
            if (buffer.Length >= end.Length)
            {
                buffer.Slice(buffer.Length - end.Length).CopyTo(tail);
                if (tail.AsSpan().SequenceEqual(end))
                {
                    backend.Input.AdvanceTo(buffer.End);
                    await backend.Output.WriteAsync(Response);
                    continue;
                }
            }

            if (result.IsCompleted)
            {
                backend.Input.AdvanceTo(buffer.End);
                return;
            }

            backend.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
