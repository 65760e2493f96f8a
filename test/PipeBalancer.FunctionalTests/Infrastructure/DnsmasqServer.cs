using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// A real DNS server: dnsmasq (Debian dnsmasq-base) on 127.0.0.1, on a port found free (bound
/// to port 0, read back, closed), serving the SRV and address records the test writes. dnsmasq
/// re-reads hosts files on SIGHUP but not its SRV records (<c>srv-host</c> lines of a
/// configuration file), so <see cref="SetRecordsAsync"/> rewrites the file and starts the server
/// again on the same port; <see cref="Stop"/> alone is a DNS outage.
/// </summary>
public sealed class DnsmasqServer : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/dnsmasq";
    private readonly string _dir = Directory.CreateTempSubdirectory("pb-dnsmasq-").FullName;
    private Process? _process;

    private DnsmasqServer(int port) => Port = port;

    /// <summary>The UDP and TCP port it serves on.</summary>
    public int Port { get; }

    /// <summary>The resolver address for lb.json.</summary>
    public string Resolver => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    private string ConfigPath => Path.Combine(_dir, "records.conf");

    /// <summary>Starts dnsmasq with <paramref name="records"/>.</summary>
    public static async Task<DnsmasqServer> StartAsync(IEnumerable<SrvRecord> records)
    {
        Assert.That(File.Exists(Executable), Is.True, $"{Executable} is installed (Debian package dnsmasq-base; ./build.sh test installs it)");
        var server = new DnsmasqServer(FreeUdpPort());
        server.WriteRecords(records);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Serves <paramref name="records"/> from now on (rewrite, then start again on the same port).</summary>
    public async Task SetRecordsAsync(IEnumerable<SrvRecord> records)
    {
        WriteRecords(records);
        Stop();
        await StartProcessAsync();
    }

    /// <summary>Starts the server again after <see cref="Stop"/>, with the records last written.</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Kills the server: lookups time out until it is started again.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private void WriteRecords(IEnumerable<SrvRecord> records)
    {
        var text = new StringBuilder();

        // TTL 1 s for every local record, so that the balancer asks again soon.
        text.AppendLine("local-ttl=1");
        foreach (var record in records)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"host-record={record.Target},127.0.0.1");
            text.AppendLine(CultureInfo.InvariantCulture, $"srv-host={record.Name},{record.Target},{record.Port},{record.Priority},{record.Weight}");
        }

        File.WriteAllText(ConfigPath, text.ToString());
    }

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["--no-daemon", "--no-resolv", "--no-hosts", $"--port={Port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                     "--pid-file=", "--user=root", $"--conf-file={ConfigPath}"])
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info)!;
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();

        // Serving once a TCP connection to its port is accepted (it listens on UDP and TCP).
        for (int i = 0; i < 400; i++)
        {
            Assert.That(_process.HasExited, Is.False, "dnsmasq exited at start");
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }

        Assert.Fail("dnsmasq did not start serving within 10 s");
    }

    private static int FreeUdpPort()
    {
        // A port free for UDP and TCP both: dnsmasq binds the two.
        for (int attempt = 0; ; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }
}

/// <summary>One SRV record and its target's address record (127.0.0.1).</summary>
public sealed record SrvRecord(string Name, string Target, int Port, int Weight, int Priority = 0);
