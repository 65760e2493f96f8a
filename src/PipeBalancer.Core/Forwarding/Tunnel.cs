using System.IO.Pipelines;

namespace PipeBalancer.Forwarding;

/// <summary>
/// After 101 Switching Protocols both connections carry opaque bytes until both sides close;
/// each direction passes its end on (half-close). The caller hands over the client pipe only
/// once the request's own body has been sent whole.
/// </summary>
internal static class Tunnel
{
    /// <summary>Splices <paramref name="client"/> and <paramref name="backend"/> both ways until both directions end.</summary>
    public static Task RunAsync(IDuplexPipe client, IDuplexPipe backend)
    {
        var up = Splice.CopyAsync(client.Input, backend.Output);
        var down = Splice.CopyAsync(backend.Input, client.Output);
        return Task.WhenAll(up, down);
    }
}
