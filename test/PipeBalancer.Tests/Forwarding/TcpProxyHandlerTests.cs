using PipeBalancer.Backends;
using static PipeBalancer.Tests.Forwarding.PipeText;

namespace PipeBalancer.Tests.Forwarding;

[CancelAfter(20_000)]
public sealed class TcpProxyHandlerTests
{
    [Test]
    public async Task HalfOpenCircuit_TakesTheTrialConnection_AndASuccessfulConnectClosesIt()
    {
        await using var proxy = new ProxyHarness(1, async backend =>
        {
            var got = await ReadExactlyAsync(backend.Input, 4);
            await SendAsync(backend.Output, got.ToUpperInvariant());
            await backend.Output.CompleteAsync();
        }, c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 1, CooldownMs = 1 } });
        var backend = proxy.State.Current.Backends[0];
        backend.RecordFailure(BackendErrorKind.Reset);
        while (backend.Circuit.State != CircuitState.HalfOpen)
        {
            await Task.Delay(5);
        }

        var (client, handler) = proxy.ConnectTcp();
        await SendAsync(client.Output, "ping");
        var answer = await ReadExactlyAsync(client.Input, 4);
        await client.Output.CompleteAsync();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.EqualTo("PING"));
            Assert.That(backend.Circuit.State, Is.EqualTo(CircuitState.Closed));
        });
    }

    [Test]
    public async Task HalfOpenCircuitWhoseTrialIsTaken_GetsNoConnection()
    {
        await using var proxy = new ProxyHarness(1, async backend => await ReadToEndAsync(backend.Input),
            c => c with { Circuit = c.Circuit with { ConsecutiveFailures = 1, CooldownMs = 1 } });
        var backend = proxy.State.Current.Backends[0];
        backend.RecordFailure(BackendErrorKind.Reset);
        while (backend.Circuit.State != CircuitState.HalfOpen)
        {
            await Task.Delay(5);
        }

        Assert.That(backend.Circuit.TryAdmit(), Is.True, "someone else takes the trial");
        var (_, handler) = proxy.ConnectTcp();
        await handler;
        Assert.Multiple(() =>
        {
            Assert.That(proxy.Connects, Is.Zero);
            Assert.That(proxy.State.Counters.NoBackend, Is.EqualTo(1));
        });
    }
}
