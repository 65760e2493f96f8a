using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// A real etcd cluster of three members on 127.0.0.1 (Debian's etcd-server), each with its own
/// temp data directory and ports the system gave as free. Members can be killed (SIGKILL) and
/// started again on their data; the leader is found through etcd's status call.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private const string Executable = "/usr/bin/etcd";
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(20);
    private readonly string _directory;
    private readonly int[] _clientPorts;
    private readonly int[] _peerPorts;
    private readonly Process?[] _members;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private EtcdCluster(string directory, int[] clientPorts, int[] peerPorts)
    {
        _directory = directory;
        _clientPorts = clientPorts;
        _peerPorts = peerPorts;
        _members = new Process?[clientPorts.Length];
    }

    /// <summary>Each member's client URL.</summary>
    public IReadOnlyList<string> Endpoints => [.. _clientPorts.Select(p => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{p}"))];

    /// <summary>Whether the etcd server is installed (the tests need it; build.sh installs etcd-server).</summary>
    public static bool Installed => File.Exists(Executable);

    /// <summary>Starts three members and waits (bounded) until each answers healthy.</summary>
    public static async Task<EtcdCluster> StartAsync()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"pipebalancer-etcd-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var cluster = new EtcdCluster(directory, [.. Enumerable.Range(0, 3).Select(_ => FreePort())], [.. Enumerable.Range(0, 3).Select(_ => FreePort())]);
        for (int i = 0; i < 3; i++)
        {
            cluster.Start(i, "new");
        }

        for (int i = 0; i < 3; i++)
        {
            await cluster.WaitHealthyAsync(i);
        }

        return cluster;
    }

    /// <summary>Kills member <paramref name="index"/> at once (SIGKILL), as a crash would.</summary>
    public void Kill(int index)
    {
        var process = _members[index] ?? throw new InvalidOperationException($"member {index} is not running");
        process.Kill();
        process.WaitForExit();
        process.Dispose();
        _members[index] = null;
    }

    /// <summary>Starts member <paramref name="index"/> again on its data directory.</summary>
    public void Restart(int index) => Start(index, "existing");

    /// <summary>Waits (bounded) until member <paramref name="index"/> answers healthy (it has a leader).</summary>
    public async Task WaitHealthyAsync(int index)
    {
        var deadline = Stopwatch.StartNew();
        string? last = null;
        while (deadline.Elapsed < StartupWait)
        {
            if (_members[index] is { HasExited: true } exited)
            {
                Assert.Fail($"etcd member {index} exited with {exited.ExitCode}: {await File.ReadAllTextAsync(LogPath(index))}");
            }

            try
            {
                last = await _http.GetStringAsync(new Uri($"{Endpoints[index]}/health"));
                if (last.Contains("\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"etcd member {index} not healthy within {StartupWait.TotalSeconds} s: {last}");
    }

    /// <summary>The index of the member that is the leader now, asked of the running members (bounded wait for an election).</summary>
    public async Task<int> LeaderAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartupWait)
        {
            for (int i = 0; i < _members.Length; i++)
            {
                if (_members[i] is null)
                {
                    continue;
                }

                try
                {
                    using var response = await _http.PostAsync(new Uri($"{Endpoints[i]}/v3/maintenance/status"), new StringContent("{}"));
                    using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    string? member = json.RootElement.GetProperty("header").GetProperty("member_id").GetString();
                    if (json.RootElement.TryGetProperty("leader", out var leader) && leader.GetString() == member)
                    {
                        return i;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail("no etcd leader");
        return -1;
    }

    /// <summary>Compacts etcd's history up to the newest revision (older revisions can no longer be watched from).</summary>
    public async Task CompactAsync(int through)
    {
        using var range = await _http.PostAsync(new Uri($"{Endpoints[through]}/v3/kv/range"), new StringContent("""{"key":"AA=="}"""));
        using var json = JsonDocument.Parse(await range.Content.ReadAsStringAsync());
        string revision = json.RootElement.GetProperty("header").GetProperty("revision").GetString()!;
        using var compact = await _http.PostAsync(new Uri($"{Endpoints[through]}/v3/kv/compaction"), new StringContent($$"""{"revision":"{{revision}}","physical":true}"""));
        Assert.That(compact.IsSuccessStatusCode, Is.True, await compact.Content.ReadAsStringAsync());
    }

    /// <summary>The value stored under <paramref name="key"/>, read through a running member's JSON gateway; null when there is none.</summary>
    public async Task<string?> ReadAsync(string key)
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, string> { ["key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(key)) });
        for (int i = 0; i < _members.Length; i++)
        {
            if (_members[i] is null)
            {
                continue;
            }

            using var response = await _http.PostAsync(new Uri($"{Endpoints[i]}/v3/kv/range"), new StringContent(body));
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (!json.RootElement.TryGetProperty("kvs", out var kvs) || kvs.GetArrayLength() == 0)
            {
                return null;
            }

            return Encoding.UTF8.GetString(Convert.FromBase64String(kvs[0].GetProperty("value").GetString()!));
        }

        Assert.Fail("no etcd member is running");
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _members)
        {
            if (process is { HasExited: false })
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process?.Dispose();
        }

        _http.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Start(int index, string state)
    {
        string initialCluster = string.Join(',', _peerPorts.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"m{i}=http://127.0.0.1:{p}")));
        string peer = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_peerPorts[index]}");
        var start = new ProcessStartInfo(Executable,
        [
            "--name", $"m{index}",
            "--data-dir", Path.Combine(_directory, $"m{index}"),
            "--listen-client-urls", Endpoints[index],
            "--advertise-client-urls", Endpoints[index],
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", initialCluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", Path.GetFileName(_directory),

            // Loopback: a short election keeps the leader tests quick (etcd's defaults: 100 ms and 1 s).
            "--heartbeat-interval", "50",
            "--election-timeout", "500",
            "--logger", "zap",
            "--log-outputs", LogPath(index),
        ])
        {
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        _members[index] = Process.Start(start) ?? throw new InvalidOperationException("etcd did not start");
    }

    private string LogPath(int index) => Path.Combine(_directory, $"m{index}.log");

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
