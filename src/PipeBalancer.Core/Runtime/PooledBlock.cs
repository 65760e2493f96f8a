using System.Buffers;

namespace PipeBalancer.Runtime;

/// <summary>
/// One block of a <see cref="BlockMemoryPool"/>: the owner object a pipe holds while it uses
/// the block. Disposing it gives the block back; the object itself is reused by the next
/// renter, so nothing is allocated per rent.
/// </summary>
internal sealed class PooledBlock : IMemoryOwner<byte>
{
    private readonly BlockMemoryPool _pool;
    private readonly byte[] _array;
    private int _leased = 1;

    /// <summary>A new block, leased to its first renter.</summary>
    public PooledBlock(BlockMemoryPool pool, byte[] array)
    {
        _pool = pool;
        _array = array;
    }

    /// <summary>The whole block (array-backed, so sockets can take it as an array segment).</summary>
    public Memory<byte> Memory => _array;

    /// <summary>Marks the block as rented again.</summary>
    internal void Lease() => Volatile.Write(ref _leased, 1);

    /// <summary>Gives the block back to its pool; a second dispose of the same lease does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _leased, 0) == 1)
        {
            _pool.Return(this);
        }
    }
}
