using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PipeBalancer.Configuration;
using PipeBalancer.RateLimiting;
using PipeBalancer.Runtime;
using PipeBalancer.Tests.Forwarding;

namespace PipeBalancer.Tests.RateLimiting;

public sealed class RateLimitStepTests
{
    [Test]
    public async Task ARefusedTcpConnection_IsLoggedWithTheSecondsUntilTheLimiterTakesOneAgain()
    {
        var config = ConfigLoader.Parse("""
            { "listeners": [ { "name": "raw", "address": "127.0.0.1:8081", "mode": "tcp" } ],
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ],
              "rateLimits": [ { "name": "per-client", "listeners": [ "raw" ], "ratePerSecond": 0.1, "burst": 1 } ] }
            """).Config!;
        await using var state = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
        var step = new RateLimitStep("raw");
        var client = Limits.Address("192.0.2.7");
        var log = new ListLoggerProvider();

        bool first = step.AdmitConnection(state.Current, client, out int firstRetry);
        bool second = step.AdmitConnection(state.Current, client, out int secondRetry);
        step.LogLimited(log.CreateLogger("test"), "c1", secondRetry);

        var line = log.Entries.Single();
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.True);
            Assert.That(firstRetry, Is.Zero);
            Assert.That(second, Is.False);
            Assert.That(secondRetry, Is.EqualTo(10), "one token per 10 s");
            Assert.That(line.Id.Id, Is.EqualTo(7101));
            Assert.That(line.Level, Is.EqualTo(LogLevel.Debug));
            Assert.That(line.Message, Does.Contain("per-client").And.Contain("retry after 10 s"));
        });
    }
}
