using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

/// <summary>Why a health check failed, as /api/stats shows it, for each way a real backend can fail one.</summary>
public sealed class HealthCheckOutcomeTests
{
    [Test]
    public async Task Stats_SayWhatTheLastCheckFound()
    {
        await using var ok = Answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        await using var busy = Answering("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
        await using var wrongBody = Answering("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnope");
        await using var silent = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            await Task.Delay(Timeout.Infinite, self.Stopping);
        });
        await using var closing = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            socket.Close();
        });
        int refused = RawBackend.UnusedPort();
        await using var balancer = await TestBalancer.StartAsync(
            [("ok", ok.Port), ("busy", busy.Port), ("body", wrongBody.Port), ("silent", silent.Port), ("closing", closing.Port), ("refused", refused)],
            c => c with { Health = c.Health with { Enabled = true, IntervalMs = 100, TimeoutMs = 300, Rise = 1, Fall = 1, Jitter = 0, MaxBackoffMs = 100, ExpectBody = "ok" } });
        await Eventually.Until(() => balancer.State.Current.Backends.Backends.All(b => b.LastCheckResult is not null));

        using var admin = balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var checks = stats.RootElement.GetProperty("backends").EnumerateArray()
            .ToDictionary(b => b.GetProperty("id").GetString()!, b => b.GetProperty("healthChecks"));
        Assert.Multiple(() =>
        {
            Expect(checks["ok"], "passed", 200, "status 200");
            Expect(checks["busy"], "status", 503, "status 503, expected 200-399 (health.expectStatus)");
            Expect(checks["body"], "body", 200, "status 200, but the body does not contain \"ok\" (health.expectBody)");
            Expect(checks["silent"], "timeout", null, "no answer within 300 ms (health.timeoutMs)");
            Expect(checks["closing"], "response", null, "broken response: ");
            Expect(checks["refused"], "connect", null, "could not connect: ConnectionRefused");
            Assert.That(checks["busy"].GetProperty("outcomeSince").GetDateTimeOffset(), Is.LessThanOrEqualTo(checks["busy"].GetProperty("last").GetDateTimeOffset()));
        });
    }

    private static void Expect(JsonElement checks, string outcome, int? status, string reason)
    {
        Assert.That(checks.GetProperty("lastOutcome").GetString(), Is.EqualTo(outcome));
        Assert.That(checks.GetProperty("lastPassed").GetBoolean(), Is.EqualTo(outcome == "passed"));
        var received = checks.GetProperty("lastStatus");
        Assert.That(received.ValueKind == JsonValueKind.Null ? (int?)null : received.GetInt32(), Is.EqualTo(status), outcome);
        Assert.That(checks.GetProperty("lastReason").GetString(), Does.StartWith(reason));
    }

    private static RawBackend Answering(string response) => new(async (socket, self) =>
    {
        while (await self.ReadHeadAsync(socket) is not null)
        {
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(response));
        }
    });
}
