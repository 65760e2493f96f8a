using System.Globalization;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tests;

/// <summary>Backend lists for routing tests: ids s1..sN on distinct addresses.</summary>
internal static class TestBackends
{
    public static BackendConfig[] Make(int count, int weight = 1, string prefix = "s") =>
        Enumerable.Range(1, count).Select(i => Backend(prefix + i.ToString(CultureInfo.InvariantCulture), i, weight)).ToArray();

    public static BackendConfig Backend(string id, int n, int weight = 1) =>
        new(id, new HostPort(string.Create(CultureInfo.InvariantCulture, $"10.0.{n / 250}.{(n % 250) + 1}"), 8080), weight);

    public static BackendConfig WithAddress(string id, string address, int weight = 1)
    {
        if (!HostPort.TryParse(address, allowAnyHost: false, out var hostPort, out string? error))
        {
            throw new ArgumentException(error, nameof(address));
        }

        return new BackendConfig(id, hostPort!, weight);
    }
}
