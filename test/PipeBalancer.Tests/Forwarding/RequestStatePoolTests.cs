using System.Text;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>
/// The state of a request in progress (heads, field tables, exchange, walk) is rented per request
/// and given back when the connection waits for the next one: idle connections hold none, and
/// a busy connection reuses the same state.
/// </summary>
[CancelAfter(30_000)]
public sealed class RequestStatePoolTests
{
    private static readonly byte[] Get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();

    [Test]
    public async Task IdleKeepAliveConnections_HoldNoRequestState_AndLaterRequestsReuseThePooledOnes()
    {
        await using var proxy = new ProxyHarness(1, backend => AllocationTests.ServeAsync(backend, "\r\n\r\n"u8.ToArray()));
        var pool = proxy.State.RequestStates;
        var clients = Enumerable.Range(0, 10).Select(_ => proxy.ConnectHttp()).ToList();
        foreach (var (client, _, _) in clients)
        {
            await AllocationTests.ExchangeAsync(client, Get);
        }

        await WaitUntil(() => pool.InUse == 0);
        int free = pool.Free;
        Assert.That(free, Is.InRange(1, 10), "one state per request that was in progress at once, at most");

        // One request at a time on ten connections: each takes a pooled state, none is made.
        for (int round = 0; round < 3; round++)
        {
            foreach (var (client, _, _) in clients)
            {
                await AllocationTests.ExchangeAsync(client, Get);
                await WaitUntil(() => pool.InUse == 0);
            }
        }

        Assert.That(pool.Free, Is.EqualTo(free), "no state made or lost");
        foreach (var (client, handler, _) in clients)
        {
            await client.Output.CompleteAsync();
            await handler;
        }

        Assert.That(pool.InUse, Is.Zero);
    }

    [Test]
    public async Task PipelinedRequests_AreAllAnswered_WithTheStateGivenBackBetweenThem()
    {
        await using var proxy = new ProxyHarness(1, backend => AllocationTests.ServeAsync(backend, "\r\n\r\n"u8.ToArray()));
        var (client, handler, _) = proxy.ConnectHttp();
        await client.Output.WriteAsync(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /p HTTP/1.1\r\nHost: x\r\n\r\n", 5))));
        for (int i = 0; i < 5; i++)
        {
            var (head, body) = await PipeText.ReadResponseAsync(client.Input);
            Assert.That(head, Does.StartWith("HTTP/1.1 200"));
            Assert.That(body, Is.EqualTo("ok"));
        }

        await WaitUntil(() => proxy.State.RequestStates.InUse == 0);
        await client.Output.CompleteAsync();
        await handler;
        Assert.That(proxy.State.RequestStates.Free, Is.EqualTo(1));
    }

    [Test]
    public async Task AReloadThatChangesTheHeadLimits_ReplacesPooledStates()
    {
        await using var proxy = new ProxyHarness(1, backend => AllocationTests.ServeAsync(backend, "\r\n\r\n"u8.ToArray()));
        var (client, handler, _) = proxy.ConnectHttp();
        await AllocationTests.ExchangeAsync(client, Get);
        await WaitUntil(() => proxy.State.RequestStates.InUse == 0);

        var config = proxy.State.Current.Config;
        proxy.State.Apply(config with { Limits = config.Limits with { MaxHeaderCount = 2 } }, runtimeEdit: false);
        await client.Output.WriteAsync("GET /a HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n"u8.ToArray());
        var (head, _) = await PipeText.ReadResponseAsync(client.Input);
        Assert.That(head, Does.StartWith("HTTP/1.1 431"), "the new limit applies to a connection that was idle through the reload");
        await handler;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int waited = 0; waited < 10_000 && !condition(); waited += 10)
        {
            await Task.Delay(10);
        }

        Assert.That(condition(), Is.True, "not reached within 10 s");
    }

    // A state back in the pool keeps no snapshot alive: not through its backend walk, nor through
    // its rate-limit step (which held the last request's snapshot and limiters).
    [Test]
    public async Task APooledState_KeepsNoOldSnapshotAlive_AfterAReload()
    {
        await using var proxy = new ProxyHarness(1, backend => AllocationTests.ServeAsync(backend, "\r\n\r\n"u8.ToArray()));
        var weak = ServeOneRequestAndReturnTheState(proxy.State);
        proxy.State.Apply(proxy.State.Current.Config with { Backends = TestBackends.Make(3) }, runtimeEdit: false);
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(weak.IsAlive, Is.False, "the snapshot before the reload is still reachable from a pooled state");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference ServeOneRequestAndReturnTheState(PipeBalancer.Runtime.ProxyState state)
    {
        var pool = state.RequestStates;
        var work = pool.Rent();
        var snapshot = state.Current;
        var pipe = new System.IO.Pipelines.Pipe();
        work.Bind("web", new Duplex(pipe), null, "127.0.0.1"u8.ToArray(), false, null, null);
        Assert.That(work.RateLimits.Check(snapshot, work.Request, [127, 0, 0, 1]), Is.Zero);
        work.Attempt.Begin(snapshot, 1);
        work.Unbind();
        pool.Return(work);
        return new WeakReference(snapshot);
    }

    private sealed class Duplex(System.IO.Pipelines.Pipe pipe) : System.IO.Pipelines.IDuplexPipe
    {
        public System.IO.Pipelines.PipeReader Input => pipe.Reader;

        public System.IO.Pipelines.PipeWriter Output => pipe.Writer;
    }
}
