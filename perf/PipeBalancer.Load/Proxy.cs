using System.Diagnostics;

namespace PipeBalancer.Load;

/// <summary>One proxy under test (the balancer or HAProxy): how to start it and where it listens.</summary>
internal sealed class Proxy(string name, FrontPorts front, ChildProcesses children, Func<Process> start, IReadOnlyList<int> extraPorts, string log)
{
    private Process? _process;

    public string Name { get; } = name;

    public FrontPorts Front { get; } = front;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The pids whose CPU and memory count: the process and its descendants.</summary>
    public IReadOnlyList<int> Family => _process is null ? [] : ProcStat.Family(_process.Id);

    /// <summary>Starts it (stopping a running one first) and waits until every port accepts; null, or why it did not come up.</summary>
    public async Task<string?> StartAsync(CancellationToken cancel)
    {
        Stop();
        _process = start();
        foreach (var port in new[] { Front.Http, Front.Https, Front.Tcp }.Concat(extraPorts))
        {
            if (!await FreePorts.WaitAcceptingAsync(port, _process, TimeSpan.FromSeconds(30), cancel))
            {
                var why = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"127.0.0.1:{port} did not accept connections within 30 s";
                Console.Error.WriteLine($"load: {Name} failed to start ({why}); its log ends:{Environment.NewLine}{Tail(log)}");
                return $"{Name} failed to start: {why}: {File.ReadLines(log).LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "(no output)"}";
            }
        }

        return null;
    }

    public void Stop()
    {
        if (_process is not null)
        {
            children.Stop(_process);
            _process = null;
        }
    }

    private static string Tail(string file)
    {
        try
        {
            return string.Join(Environment.NewLine, File.ReadLines(file).TakeLast(20).Select(l => "  | " + l));
        }
        catch (IOException)
        {
            return "  (no log)";
        }
    }
}
