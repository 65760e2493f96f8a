namespace PipeBalancer.Discovery;

/// <summary>What one lookup of a group gave: the targets and the time they may be kept, or why there are none.</summary>
/// <param name="Targets">The targets of a successful answer (possibly none), or null after a failure.</param>
/// <param name="Ttl">The shortest TTL of the records used.</param>
/// <param name="Failure">Why the lookup failed, or <see cref="LookupFailure.None"/>.</param>
/// <param name="Detail">The failure in words (the resolver's message), or null.</param>
internal sealed record LookupResult(IReadOnlyList<DiscoveredTarget>? Targets, TimeSpan Ttl, LookupFailure Failure, string? Detail)
{
    /// <summary>A successful answer.</summary>
    public static LookupResult Answered(IReadOnlyList<DiscoveredTarget> targets, TimeSpan ttl) => new(targets, ttl, LookupFailure.None, null);

    /// <summary>A failed lookup.</summary>
    public static LookupResult Failed(LookupFailure failure, string detail) => new(null, TimeSpan.Zero, failure, detail);
}
