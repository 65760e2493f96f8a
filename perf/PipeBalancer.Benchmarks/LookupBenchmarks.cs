using BenchmarkDotNet.Attributes;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Benchmarks;

/// <summary>
/// One routing decision: hash a 24-byte path and find its server, with every server eligible.
/// Each invocation routes 1,024 different paths; the figures are per lookup.
/// </summary>
[MemoryDiagnoser]
public class LookupBenchmarks
{
    private const int PathCount = 1024;
    private byte[][] _paths = [];
    private Router _router = null!;
    private AllEligibleView _view = null!;

    [Params(10, 1000)]
    public int ServerCount { get; set; }

    [Params("ring", "ring-bounded", "maglev", "nginx", "round-robin", "least-connections")]
    public string Algorithm { get; set; } = "ring";

    [GlobalSetup]
    public void Setup()
    {
        var servers = Servers.Make(ServerCount);
        var algorithm = RoutingNames.Algorithms.First(a => a.Name == Algorithm).Value;
        var routing = RoutingConfig.Default with { Algorithm = algorithm, Hash = algorithm == RoutingAlgorithm.Nginx ? HashFunction.Crc32 : HashFunction.XxHash3 };
        _router = Router.Create(routing, servers);
        _view = new AllEligibleView(ServerCount);
        _paths = Servers.Paths(PathCount);
    }

    [Benchmark(OperationsPerInvoke = PathCount)]
    public int Lookup()
    {
        int sum = 0;
        foreach (byte[] path in _paths)
        {
            sum += _router.Select(path, _view);
        }

        return sum;
    }
}

/// <summary>
/// The seed design's lookup, for comparison: it sorts every point on each call, so at 1000
/// servers one lookup takes milliseconds; it routes 16 paths an invocation to finish in time.
/// </summary>
[MemoryDiagnoser]
public class SeedDesignLookupBenchmarks
{
    private const int PathCount = 16;
    private byte[][] _paths = [];
    private SeedDesignRing _seed = null!;

    [Params(10, 1000)]
    public int ServerCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _seed = new SeedDesignRing(Servers.Make(ServerCount), RoutingConfig.DefaultVirtualNodes);
        _paths = Servers.Paths(PathCount);
    }

    [Benchmark(OperationsPerInvoke = PathCount)]
    public int SeedDesignLookup()
    {
        int sum = 0;
        foreach (byte[] path in _paths)
        {
            sum += _seed.Lookup(path).Length;
        }

        return sum;
    }
}
