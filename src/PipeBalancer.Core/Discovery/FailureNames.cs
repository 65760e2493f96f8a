namespace PipeBalancer.Discovery;

/// <summary>How logs, stats and metrics name a <see cref="LookupFailure"/>.</summary>
internal static class FailureNames
{
    /// <summary>The name: <c>timeout</c>, <c>servfail</c>, <c>refused</c>, <c>nxdomain</c>, <c>no-records</c>, <c>error</c>, or <c>none</c>.</summary>
    public static string Of(LookupFailure failure) => failure switch
    {
        LookupFailure.None => "none",
        LookupFailure.Timeout => "timeout",
        LookupFailure.ServerFailure => "servfail",
        LookupFailure.Refused => "refused",
        LookupFailure.NameError => "nxdomain",
        LookupFailure.NoRecords => "no-records",
        _ => "error",
    };
}
