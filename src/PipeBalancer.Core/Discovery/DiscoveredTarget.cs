using System.Net;

namespace PipeBalancer.Discovery;

/// <summary>
/// One backend as DNS names it: the target host and port (its identity), the address the
/// target resolved to, and for SRV the record's priority and weight.
/// </summary>
/// <param name="Host">The SRV record's target (lower case, no final dot), or the address itself for A/AAAA.</param>
/// <param name="Port">The port from the SRV record, or the group's port.</param>
/// <param name="Address">Where to connect.</param>
/// <param name="Priority">The SRV priority (lower is preferred); 0 for A/AAAA.</param>
/// <param name="Weight">The SRV weight (0..65535); 0 for A/AAAA, whose weight is the group's.</param>
internal sealed record DiscoveredTarget(string Host, int Port, IPAddress Address, int Priority, int Weight)
{
    /// <summary>The backend id the target gets: see <see cref="BackendIdentity"/>.</summary>
    public string Id { get; } = BackendIdentity.Of(Host, Port);
}
