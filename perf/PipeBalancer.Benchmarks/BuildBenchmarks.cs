using BenchmarkDotNet.Attributes;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Benchmarks;

/// <summary>Rebuilding the routing table after a membership change: 1000 servers.</summary>
[MemoryDiagnoser]
public class BuildBenchmarks
{
    private BackendConfig[] _servers = [];

    [GlobalSetup]
    public void Setup() => _servers = Servers.Make(1000);

    [Benchmark(Description = "ring 1000 x 160 (xxhash3)")]
    public object Ring() => HashRing.Build(_servers, HashFunction.XxHash3, 160);

    [Benchmark(Description = "ring 1000 x 160 (md5)")]
    public object RingMd5() => HashRing.Build(_servers, HashFunction.Md5, 160);

    [Benchmark(Description = "nginx 1000 x 160")]
    public object Nginx() => HashRing.BuildNginx(_servers);

    [Benchmark(Description = "maglev 1000 (M = 100003)")]
    public object Maglev() => MaglevTable.Build(_servers, HashFunction.XxHash3, RoutingConfig.DefaultTableSize);
}
