using System.Buffers;

namespace PipeBalancer.Runtime;

/// <summary>
/// The memory behind every pipe the balancer moves bytes through (client connections through
/// Kestrel's transport and backend connections alike): blocks of one size, allocated once on
/// the pinned object heap and handed out again and again, so renting one allocates nothing in
/// steady state. The block size sets how much one receive can read and one pipe segment can
/// hold: 16 KB blocks move a 256 KB body in about 17 reads and 17 sends where 4 KB blocks
/// took 65 of each (measured with strace, docs/performance.md). Returned blocks are kept up
/// to a cap, the last returned handed out first (<see cref="PerCoreStack{T}"/>); beyond the
/// cap they are left to the collector.
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    /// <summary>The block size the balancer uses (HAProxy's default buffer size, too).</summary>
    public const int DefaultBlockSize = 16 * 1024;

    private readonly PerCoreStack<PooledBlock> _free;
    private long _allocated;
    private long _dropped;

    /// <summary>Creates a pool of <paramref name="blockSize"/>-byte blocks that keeps at most <paramref name="maxRetained"/> free blocks.</summary>
    public BlockMemoryPool(int blockSize = DefaultBlockSize, int maxRetained = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetained);
        MaxBufferSize = blockSize;
        _free = new PerCoreStack<PooledBlock>(maxRetained);
    }

    /// <summary>The one process-wide pool (client and backend pipes share its blocks).</summary>
    public static new BlockMemoryPool Shared { get; } = new();

    /// <summary>The size of every block.</summary>
    public override int MaxBufferSize { get; }

    /// <summary>Free blocks kept for reuse (for tests and stats).</summary>
    public int Retained => _free.Count;

    /// <summary>
    /// Blocks rented and not returned: what the pipes hold now (exact when no block is being rented
    /// or returned). An idle client connection holds none (tests check it).
    /// </summary>
    public long Rented => Volatile.Read(ref _allocated) - Volatile.Read(ref _dropped) - Retained;

    /// <summary>A block of <see cref="MaxBufferSize"/> bytes, whatever smaller size is asked for.</summary>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > MaxBufferSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"blocks are {MaxBufferSize} bytes");
        }

        if (_free.TryPop(out var block))
        {
            block.Lease();
            return block;
        }

        Interlocked.Increment(ref _allocated);
        return new PooledBlock(this, GC.AllocateUninitializedArray<byte>(MaxBufferSize, pinned: true));
    }

    /// <summary>Takes a block back (called by the block when its renter disposes it).</summary>
    internal void Return(PooledBlock block)
    {
        if (!_free.TryPush(block))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Does nothing: the pool is shared by every listener and backend connection, and Kestrel
    /// disposes the pool it was given when a listener stops; the blocks stay usable.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
    }
}
