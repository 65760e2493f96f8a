using System.IO.Pipelines;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Runtime;

public sealed class BlockMemoryPoolTests
{
    [Test]
    public void Rent_GivesAWholeBlock_WhateverSmallerSizeIsAsked()
    {
        using var pool = new BlockMemoryPool(blockSize: 16 * 1024);
        using var small = pool.Rent(4096);
        using var any = pool.Rent();

        Assert.That(small.Memory.Length, Is.EqualTo(16 * 1024));
        Assert.That(any.Memory.Length, Is.EqualTo(16 * 1024));
        Assert.That(pool.MaxBufferSize, Is.EqualTo(16 * 1024));
    }

    [Test]
    public void Rent_MoreThanABlock_IsRefused()
    {
        using var pool = new BlockMemoryPool(blockSize: 1024);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(1025));
    }

    [Test]
    public void Dispose_ReturnsTheBlock_AndTheNextRentReusesIt()
    {
        using var pool = new BlockMemoryPool(blockSize: 1024);
        var first = pool.Rent();
        var memory = first.Memory;
        first.Dispose();
        first.Dispose(); // a second dispose of the same lease must not return it twice

        Assert.That(pool.Retained, Is.EqualTo(1));
        var second = pool.Rent();
        var third = pool.Rent();
        Assert.That(second, Is.SameAs(first));
        Assert.That(second.Memory.Span == memory.Span, Is.True, "the same bytes");
        Assert.That(third, Is.Not.SameAs(first));
        Assert.That(pool.Retained, Is.EqualTo(0));
    }

    [Test]
    public void Return_BeyondTheCap_KeepsNoMoreThanTheCap()
    {
        using var pool = new BlockMemoryPool(blockSize: 1024, maxRetained: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());

        Assert.That(pool.Retained, Is.EqualTo(2));
    }

    [Test]
    public void Rented_CountsBlocksNotYetReturned_WhetherKeptOrLeftBeyondTheCap()
    {
        using var pool = new BlockMemoryPool(blockSize: 1024, maxRetained: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();
        Assert.That(pool.Rented, Is.EqualTo(5));

        blocks[0].Dispose();
        blocks[0].Dispose();
        Assert.That(pool.Rented, Is.EqualTo(4));

        blocks.ForEach(b => b.Dispose());
        Assert.That(pool.Rented, Is.Zero, "two kept, three left to the collector: none out");

        using var again = pool.Rent();
        Assert.That(pool.Rented, Is.EqualTo(1));
    }

    [Test]
    public async Task PipeOverThePool_ReadsInWholeBlocks_AndAllocatesNothingPerMessage()
    {
        using var pool = new BlockMemoryPool(blockSize: 16 * 1024);
        var pipe = new Pipe(new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline, minimumSegmentSize: 4096, useSynchronizationContext: false));
        var message = new byte[40 * 1024];

        for (int i = 0; i < 50; i++)
        {
            await SendAndDrainAsync(pipe, message);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            await SendAndDrainAsync(pipe, message);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(pipe.Writer.GetMemory(1).Length, Is.EqualTo(16 * 1024), "a segment is a whole block");
        Assert.That(allocated, Is.LessThan(1000), $"{allocated} bytes over 1000 messages of 40 KB");
    }

    private static async ValueTask SendAndDrainAsync(Pipe pipe, byte[] message)
    {
        await pipe.Writer.WriteAsync(message);
        var result = await pipe.Reader.ReadAsync();
        pipe.Reader.AdvanceTo(result.Buffer.End);
    }
}
