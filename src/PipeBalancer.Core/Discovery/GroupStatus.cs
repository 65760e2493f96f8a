namespace PipeBalancer.Discovery;

/// <summary>Where a discovery group stands.</summary>
internal enum GroupStatus
{
    /// <summary>No lookup has succeeded yet: the group has no backends.</summary>
    Pending,

    /// <summary>The last lookup succeeded: the backends are those of the last answer.</summary>
    Current,

    /// <summary>The last lookup failed: the backends are those of the last successful answer, kept.</summary>
    Stale,
}
