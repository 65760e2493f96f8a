namespace PipeBalancer.Discovery;

/// <summary>
/// The last known good set of one discovery group and whether its lookups succeed. Only a
/// successful answer changes the set; a failure (timeout, SERVFAIL, REFUSED, NXDOMAIN, or an
/// empty answer the group does not accept) keeps it and marks it stale. Not thread-safe: one
/// group's lookups run one after another.
/// </summary>
internal sealed class GroupState
{
    /// <summary>Where the group stands.</summary>
    public GroupStatus Status { get; private set; } = GroupStatus.Pending;

    /// <summary>The targets of the last successful answer, sorted by host then port.</summary>
    public IReadOnlyList<DiscoveredTarget> Targets { get; private set; } = [];

    /// <summary>When an answer last confirmed or changed the set, or null.</summary>
    public DateTimeOffset? LastSuccess { get; private set; }

    /// <summary>When the lookups started failing, while they fail.</summary>
    public DateTimeOffset? FailingSince { get; private set; }

    /// <summary>The last lookup's failure, or <see cref="LookupFailure.None"/>.</summary>
    public LookupFailure Failure { get; private set; }

    /// <summary>The last failure in words, or null.</summary>
    public string? FailureDetail { get; private set; }

    /// <summary>Lookups made.</summary>
    public long Lookups { get; private set; }

    /// <summary>Lookups that failed.</summary>
    public long Failures { get; private set; }

    /// <summary>
    /// Takes a lookup's result. Returns whether the set changed; <paramref name="stateChanged"/>
    /// says whether the status or the kind of failure changed (what is logged, once per change).
    /// </summary>
    public bool Record(LookupResult result, bool allowEmpty, DateTimeOffset now, out bool stateChanged)
    {
        var statusBefore = Status;
        var failureBefore = Failure;
        Lookups++;
        bool changed = false;
        if (result.Targets is { } targets && (targets.Count > 0 || allowEmpty))
        {
            var sorted = targets
                .DistinctBy(t => (t.Host, t.Port))
                .OrderBy(t => t.Host, StringComparer.Ordinal)
                .ThenBy(t => t.Port)
                .ToArray();
            changed = !sorted.SequenceEqual(Targets);
            Targets = sorted;
            Status = GroupStatus.Current;
            LastSuccess = now;
            FailingSince = null;
            Failure = LookupFailure.None;
            FailureDetail = null;
        }
        else
        {
            Failures++;
            Failure = result.Targets is null ? result.Failure : LookupFailure.NoRecords;
            FailureDetail = result.Targets is null ? result.Detail : "the answer has no records; the last set is kept (allowEmpty is false)";
            FailingSince ??= now;
            if (Status == GroupStatus.Current)
            {
                Status = GroupStatus.Stale;
            }
        }

        stateChanged = Status != statusBefore || Failure != failureBefore;
        return changed;
    }

    /// <summary>How old the set is: the time since an answer last confirmed it, or null when none has.</summary>
    public TimeSpan? Age(DateTimeOffset now) => LastSuccess is { } at ? now - at : null;
}
