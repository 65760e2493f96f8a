using System.Net;
using System.Net.Sockets;

namespace PipeBalancer.Load;

/// <summary>Loopback ports the kernel hands out for port 0.</summary>
internal static class FreePorts
{
    /// <summary>
    /// Binds <paramref name="count"/> sockets to 127.0.0.1:0 at once (so the ports differ), reads
    /// the ports back and closes them for the proxies to bind.
    /// </summary>
    public static int[] Take(int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(s);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return [.. sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port)];
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>Waits until 127.0.0.1:<paramref name="port"/> accepts; false if the process ended or time ran out.</summary>
    public static async Task<bool> WaitAcceptingAsync(int port, System.Diagnostics.Process process, TimeSpan timeout, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                return false;
            }

            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancel);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancel);
            }
        }

        return false;
    }
}
