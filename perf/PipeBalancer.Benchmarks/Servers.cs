using System.Globalization;
using System.Text;
using PipeBalancer.Configuration;

namespace PipeBalancer.Benchmarks;

internal static class Servers
{
    public static BackendConfig[] Make(int count) =>
        Enumerable.Range(1, count)
            .Select(i => new BackendConfig(
                "s" + i.ToString(CultureInfo.InvariantCulture),
                new HostPort(string.Create(CultureInfo.InvariantCulture, $"10.{i / 65536}.{i / 256 % 256}.{i % 256}"), 8080),
                1))
            .ToArray();

    /// <summary>Distinct 24-byte request paths, so the branch predictor cannot learn one search path.</summary>
    public static byte[][] Paths(int count) =>
        Enumerable.Range(0, count)
            .Select(i => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/api/v1/users/{i:D5}/info")))
            .ToArray();
}
