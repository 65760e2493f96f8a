namespace PipeBalancer.Discovery;

/// <summary>Why a lookup did not change a group's backends.</summary>
internal enum LookupFailure
{
    /// <summary>The lookup succeeded.</summary>
    None,

    /// <summary>No answer within the group's timeout.</summary>
    Timeout,

    /// <summary>The server answered SERVFAIL.</summary>
    ServerFailure,

    /// <summary>The server answered REFUSED.</summary>
    Refused,

    /// <summary>The server answered NXDOMAIN: the name does not exist.</summary>
    NameError,

    /// <summary>An answer without records while the group does not allow an empty set.</summary>
    NoRecords,

    /// <summary>Any other failure of the exchange (another response code, a malformed answer, no server reachable).</summary>
    Other,
}
