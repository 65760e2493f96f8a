using PipeBalancer.Configuration;

namespace PipeBalancer.Routing;

/// <summary>
/// The table over no servers: every lookup answers -1 (no server), so requests get 503. Only
/// backends found through DNS can leave a configuration with none: before a group's first
/// answer, or when an empty answer is allowed to empty it.
/// </summary>
internal sealed class EmptyRouter(RoutingConfig routing) : Router([], routing.Hash, mayBeEmpty: true)
{
    public override RoutingAlgorithm Algorithm { get; } = routing.Algorithm;

    public override double[] KeySpaceShares() => [];

    public override int Size => 0;

    public override long MemoryBytes => 0;

    private protected override ReadOnlySpan<ushort> Order => [];

    private protected override int Distinct => 0;

    private protected override int StartPosition(uint keyHash, IServerView view) => 0;
}
