using System.Diagnostics;

namespace PipeBalancer.Load;

/// <summary>
/// Starts the processes of a run and kills every one of them (with its descendants) when
/// disposed. Each runs under /bin/sh with the open-files limit raised to the hard limit (1,000
/// client connections, 8,000 idle clients) and its output in a log file.
/// </summary>
internal sealed class ChildProcesses : IDisposable
{
    private readonly List<Process> _started = [];
    private readonly Lock _lock = new();

    /// <summary>Starts <paramref name="command"/> with its output in <paramref name="log"/>.</summary>
    /// <param name="environment">variables to set (a null value removes the variable)</param>
    public Process Start(string command, IEnumerable<string> arguments, string log, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; exec \"$@\" >>\"$PB_LOAD_LOG\" 2>&1 </dev/null");
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(command);
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["PB_LOAD_LOG"] = log;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        lock (_lock)
        {
            _started.Add(process);
        }

        return process;
    }

    /// <summary>Kills the process and its descendants, and forgets it.</summary>
    public void Stop(Process process)
    {
        Kill(process);
        lock (_lock)
        {
            _started.Remove(process);
        }

        process.Dispose();
    }

    public void Dispose()
    {
        Process[] all;
        lock (_lock)
        {
            all = [.. _started];
            _started.Clear();
        }

        foreach (var p in all)
        {
            Kill(p);
            p.Dispose();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"load: could not kill process {process.Id}: {e.Message}");
        }
    }
}
