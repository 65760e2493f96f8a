using System.Buffers;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// Gives Kestrel's socket transport the balancer's shared <see cref="BlockMemoryPool"/> for
/// every client connection's pipes, in place of its 4 KB blocks: one receive reads up to a
/// whole block, so a 64 KB upload arrives in a few reads instead of sixteen.
/// </summary>
internal sealed class BlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    /// <summary>The one instance.</summary>
    public static BlockMemoryPoolFactory Instance { get; } = new();

    /// <summary>The shared pool, whatever the options (it has no per-owner state).</summary>
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => BlockMemoryPool.Shared;
}
