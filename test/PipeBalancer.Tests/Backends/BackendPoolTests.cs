using System.IO.Pipelines;
using PipeBalancer.Backends;

namespace PipeBalancer.Tests.Backends;

public sealed class BackendPoolTests
{
    [Test]
    public void Sweep_ClosesTheExpired_AndTellsWhenTheOldestLeftWentConnection()
    {
        using var pool = new BackendPool(maxIdle: 4);
        var older = Connection();
        var newer = Connection();
        pool.Return(older);
        pool.Return(newer);
        older.IdleSince = 1_000;
        newer.IdleSince = 5_000;

        long afterFirst = pool.Sweep(idleSince: 2_000);
        int left = pool.IdleCount;
        long afterAll = pool.Sweep(idleSince: long.MaxValue);
        Assert.Multiple(() =>
        {
            Assert.That(left, Is.EqualTo(1), "the one idle since before 2,000 is closed");
            Assert.That(afterFirst, Is.EqualTo(5_000));
            Assert.That(afterAll, Is.EqualTo(long.MaxValue), "none left");
            Assert.That(pool.IdleCount, Is.Zero);
        });
    }

    [Test]
    public void Return_KeepsConnectionsUpToTheCap_BeyondTheFirstSlots_AndRentGivesTheLastFirst()
    {
        using var pool = new BackendPool(maxIdle: 100);
        var connections = Enumerable.Range(0, 120).Select(_ => Connection()).ToList();
        connections.ForEach(pool.Return);

        Assert.That(pool.IdleCount, Is.EqualTo(100), "the stack grew to the cap and no further");
        Assert.That(pool.Rent(), Is.SameAs(connections[99]));
        Assert.That(pool.Rent(), Is.SameAs(connections[98]));
    }

    [Test]
    public void Sweep_AfterGrowing_ClosesEveryExpiredOne_AndThePoolKeepsWorking()
    {
        using var pool = new BackendPool(maxIdle: 64);
        var connections = Enumerable.Range(0, 40).Select(_ => Connection()).ToList();
        connections.ForEach(pool.Return);

        pool.Sweep(long.MaxValue);
        Assert.That(pool.IdleCount, Is.Zero);
        var fresh = Connection();
        pool.Return(fresh);
        Assert.That(pool.Rent(), Is.SameAs(fresh));
    }

    private static BackendConnection Connection()
    {
        var toBackend = new Pipe();
        var fromBackend = new Pipe();
        return BackendConnection.Over(new DuplexPipe(fromBackend.Reader, toBackend.Writer));
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
