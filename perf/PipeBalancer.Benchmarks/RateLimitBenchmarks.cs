using System.Text;
using BenchmarkDotNet.Attributes;
using PipeBalancer.Configuration;
using PipeBalancer.Http1;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Benchmarks;

/// <summary>
/// One rate-limit decision: find the key in a parsed request head, hash it, look its bucket up
/// and take a token. Each invocation decides for 1,024 different clients (or header values) in
/// a table that holds them all; the figures are per decision. <c>Flood</c> sends a new key
/// every time into a table of 1,024 slots, so that every decision evicts.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private const int KeyCount = 1024;
    private RequestHead[] _heads = [];
    private byte[][] _addresses = [];
    private RateLimiter _limiter = null!;
    private RateLimiter _small = null!;
    private uint _next;

    [Params("client-ip", "header:X-Api-Key")]
    public string Key { get; set; } = "client-ip";

    [GlobalSetup]
    public void Setup()
    {
        if (!LimitKey.TryParse(Key, out var key, out string? error))
        {
            throw new InvalidOperationException(error);
        }

        var config = new RateLimitConfig { Name = "bench", Listeners = ["web"], Key = key!, RatePerSecond = 1_000_000, Burst = 1_000_000 };
        _limiter = new RateLimiter(config, TimeProvider.System);
        _small = new RateLimiter(config with { Key = LimitKey.ClientIp, Capacity = 1024 }, TimeProvider.System);
        _heads = new RequestHead[KeyCount];
        _addresses = new byte[KeyCount][];
        for (int i = 0; i < KeyCount; i++)
        {
            _heads[i] = new RequestHead();
            byte[] request = Encoding.ASCII.GetBytes($"GET /p/{i} HTTP/1.1\r\nHost: example\r\nUser-Agent: bench\r\nX-Api-Key: key-{i:D6}\r\n\r\n");
            if (RequestHeadParser.TryParse(request, _heads[i], HttpLimits.Default, out _, out var reason) != ParseStatus.Complete)
            {
                throw new InvalidOperationException($"the benchmark's request does not parse: {reason}");
            }
            _addresses[i] = [10, 1, (byte)(i >> 8), (byte)i];
        }
    }

    [Benchmark(OperationsPerInvoke = KeyCount)]
    public int Check()
    {
        int sum = 0;
        for (int i = 0; i < KeyCount; i++)
        {
            sum += _limiter.Check(_heads[i], _addresses[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = KeyCount)]
    public int Flood()
    {
        Span<byte> address = stackalloc byte[4];
        int sum = 0;
        for (int i = 0; i < KeyCount; i++)
        {
            uint n = ++_next;
            address[0] = (byte)(n >> 24);
            address[1] = (byte)(n >> 16);
            address[2] = (byte)(n >> 8);
            address[3] = (byte)n;
            sum += _small.CheckAddress(address);
        }

        return sum;
    }
}
