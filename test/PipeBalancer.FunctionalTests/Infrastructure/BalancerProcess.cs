using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// An executable running <c>serve</c> in its own process, as a user starts it: the config is
/// written to a temp file, its listeners bind port 0, and the ports it got are read from the
/// lines it prints (listener <c>web</c> and the admin app).
/// </summary>
public sealed partial class BalancerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _config;
    private readonly ConcurrentQueue<string> _errors;

    private BalancerProcess(Process process, string config, ConcurrentQueue<string> errors, ConcurrentQueue<string> output, int proxyPort, int adminPort)
    {
        _process = process;
        _config = config;
        _errors = errors;
        Output = output;
        ProxyPort = proxyPort;
        AdminPort = adminPort;
    }

    /// <summary>The port listener <c>web</c> got.</summary>
    public int ProxyPort { get; }

    /// <summary>The port the admin app got.</summary>
    public int AdminPort { get; }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>The lines the process wrote to stdout so far (its logs among them).</summary>
    public ConcurrentQueue<string> Output { get; }

    /// <summary>What the process wrote to stderr so far.</summary>
    public string Errors => string.Join('\n', _errors);

    /// <summary>An lb.json for one backend on loopback <paramref name="backendPort"/>: listener `web` and the admin app on port 0, health checks off.</summary>
    public static string OneBackendConfig(int backendPort) => $$"""
        {
          "listeners": [ { "name": "web", "address": "127.0.0.1:0" } ],
          "admin": { "address": "127.0.0.1:0" },
          "health": { "enabled": false },
          "backends": [ { "id": "s1", "address": "127.0.0.1:{{backendPort}}" } ]
        }
        """;

    /// <summary>Starts <c><paramref name="executable"/> serve --config FILE</c> and waits until both ports are printed.</summary>
    public static async Task<BalancerProcess> StartAsync(string executable, string configJson, Action<ProcessStartInfo>? configure = null, params string[] options)
    {
        string config = Path.Combine(Path.GetTempPath(), $"pipebalancer-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, configJson);
        var start = new ProcessStartInfo(executable, ["serve", "--config", config, .. options])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        configure?.Invoke(start);
        var process = new Process { StartInfo = start };
        var proxyPortFound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var adminPortFound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<string>();
        var output = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue(e.Data);
            }

            if (e.Data is null)
            {
                proxyPortFound.TrySetException(new InvalidOperationException("the balancer exited: " + string.Join('\n', errors)));
                adminPortFound.TrySetException(new InvalidOperationException("the balancer exited: " + string.Join('\n', errors)));
            }
            else if (ListeningLine().Match(e.Data) is { Success: true } web)
            {
                proxyPortFound.TrySetResult(int.Parse(web.Groups[1].Value, CultureInfo.InvariantCulture));
            }
            else if (AdminLine().Match(e.Data) is { Success: true } admin)
            {
                adminPortFound.TrySetResult(int.Parse(admin.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                errors.Enqueue(e.Data);

                // With --log-format json the start-up summary goes to stderr.
                if (ListeningLine().Match(e.Data) is { Success: true } web)
                {
                    proxyPortFound.TrySetResult(int.Parse(web.Groups[1].Value, CultureInfo.InvariantCulture));
                }
                else if (AdminLine().Match(e.Data) is { Success: true } admin)
                {
                    adminPortFound.TrySetResult(int.Parse(admin.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            int proxyPort = await proxyPortFound.Task.WaitAsync(TimeSpan.FromSeconds(30));
            int adminPort = await adminPortFound.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new BalancerProcess(process, config, errors, output, proxyPort, adminPort);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
            File.Delete(config);
            throw;
        }
    }

    /// <summary>Sends SIGTERM and returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        await SignalAsync("TERM");
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    /// <summary>Sends a signal by name (<c>TERM</c>, <c>USR1</c>) with kill(1): .NET has no API to signal another process.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.That(kill.ExitCode, Is.Zero, $"kill -{signal} failed");
    }

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        File.Delete(_config);
    }

    [GeneratedRegex(@"web \((?:http|tcp)(?:, TLS)?\) listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"admin .* on http://127\.0\.0\.1:(\d+)/")]
    private static partial Regex AdminLine();
}
