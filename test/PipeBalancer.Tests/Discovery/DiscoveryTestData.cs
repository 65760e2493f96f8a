using System.Net;
using PipeBalancer.Discovery;

namespace PipeBalancer.Tests.Discovery;

/// <summary>Targets as DNS would give them, for the discovery tests.</summary>
internal static class DiscoveryTestData
{
    public static DiscoveredTarget Srv(string host, int port, int weight = 10, int priority = 0, string? address = null) =>
        new(host, port, IPAddress.Parse(address ?? $"10.{host.Length % 250}.{host.Sum(c => c) % 250}.{port % 250}"), priority, weight);

    public static LookupResult Answer(params DiscoveredTarget[] targets) => LookupResult.Answered(targets, TimeSpan.FromSeconds(30));
}
