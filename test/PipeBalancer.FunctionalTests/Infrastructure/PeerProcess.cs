using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// A real peer (HAProxy, nginx) run by a test: its configuration written to a directory of its
/// own, the process started in the foreground, and the test held until its port accepts. The
/// port comes from <see cref="RawBackend.UnusedPort"/> (the kernel's choice for port 0, released
/// for the peer to bind), since neither program can report the port it got.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private PeerProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts <paramref name="program"/> with the config that <paramref name="config"/> writes for (directory, port).</summary>
    public static async Task<PeerProcess> StartAsync(string program, Func<string, int, string> config, Func<string, string[]> arguments)
    {
        if (!File.Exists(program))
        {
            Assert.Fail($"{program} is not installed (./build.sh test installs it)");
        }

        string dir = Directory.CreateTempSubdirectory("pb-peer-").FullName;
        int port = RawBackend.UnusedPort();
        string path = Path.Combine(dir, "peer.conf");
        await File.WriteAllTextAsync(path, config(dir, port) + "\n");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments(path))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var peer = new PeerProcess(process, dir, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (process.HasExited)
            {
                string error = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
                Assert.Fail($"{program} exited with {process.ExitCode}: {error}");
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return peer;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
