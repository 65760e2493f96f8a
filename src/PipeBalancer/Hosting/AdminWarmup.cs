using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.Hosting;

/// <summary>
/// Asks the admin app, once at start, for what orchestrators ask of it most (<c>/healthz</c>,
/// <c>/readyz</c>), so that what an answer needs (Kestrel's response writing and reason phrases)
/// is loaded before the listeners open. The probes, and not <c>/api/stats</c>, because probes are
/// never rate limited: the warm-up takes nothing from a client's <c>admin.rateLimitPerSecond</c>.
/// Loaded lazily, a process out of descriptors failed to load one (Kestrel's reason phrases)
/// and kept that failure for its life: <c>/readyz</c> never answered again. The JIT build's concern; the Native AOT executable has nothing to load.
/// </summary>
internal static class AdminWarmup
{
    private static readonly string[] Paths = ["/healthz", "/readyz"];

    /// <summary>Sends one request per path to <paramref name="admin"/> and reads each answer to its end.</summary>
    public static async Task RunAsync(IPEndPoint admin, ILogger logger, CancellationToken cancellationToken)
    {
        var target = admin.Address.Equals(IPAddress.Any) ? new IPEndPoint(IPAddress.Loopback, admin.Port)
            : admin.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(IPAddress.IPv6Loopback, admin.Port)
            : admin;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(5));
        var answer = new byte[4096];
        foreach (string path in Paths)
        {
            try
            {
                using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(target, deadline.Token).ConfigureAwait(false);
                byte[] request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
                await socket.SendAsync(request, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                while (await socket.ReceiveAsync(answer, SocketFlags.None, deadline.Token).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The admin app answers the real requests all the same; only the early load is lost.
                HostLog.AdminWarmupFailed(logger, path, e.Message);
                return;
            }
        }
    }
}
