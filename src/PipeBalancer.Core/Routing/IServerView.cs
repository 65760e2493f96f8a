namespace PipeBalancer.Routing;

/// <summary>
/// What routing may know of the backends' health and load, by server index (the position in
/// <see cref="Router.Servers"/>). Implementations answer from counters they keep up to date;
/// the calls are on the request path, so they must not lock or allocate.
/// </summary>
internal interface IServerView
{
    /// <summary>Number of servers that <see cref="IsEligible"/> accepts.</summary>
    int EligibleCount { get; }

    /// <summary>Requests in flight over all servers.</summary>
    int TotalInFlight { get; }

    /// <summary>Whether the server may take a new request (healthy, not draining, circuit closed).</summary>
    bool IsEligible(int server);

    /// <summary>Requests the server is handling now.</summary>
    int InFlight(int server);
}

/// <summary>Every server healthy and idle: what the <c>route</c> and <c>ring</c> tools assume.</summary>
internal sealed class AllEligibleView(int serverCount) : IServerView
{
    /// <inheritdoc />
    public int EligibleCount => serverCount;

    /// <inheritdoc />
    public int TotalInFlight => 0;

    /// <inheritdoc />
    public bool IsEligible(int server) => true;

    /// <inheritdoc />
    public int InFlight(int server) => 0;
}
