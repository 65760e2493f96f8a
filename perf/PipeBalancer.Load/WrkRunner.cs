using System.Globalization;

namespace PipeBalancer.Load;

/// <summary>Runs wrk for one workload against one proxy.</summary>
internal sealed class WrkRunner(string wrk, string script, int paths, ChildProcesses children, string tempDir)
{
    private int _runs;

    /// <summary>wrk's command line for <paramref name="workload"/> on 127.0.0.1:<paramref name="port"/>.</summary>
    public static IReadOnlyList<string> Arguments(Workload workload, int port, int seconds, string script, int paths)
    {
        var scheme = workload.Listener == Listener.Https ? "https" : "http";
        var args = new List<string>
        {
            "-t" + workload.Threads.ToString(CultureInfo.InvariantCulture),
            "-c" + workload.Connections.ToString(CultureInfo.InvariantCulture),
            "-d" + seconds.ToString(CultureInfo.InvariantCulture) + "s",
            "--latency",
            "--timeout", "5s",
            "-s", script,
        };
        if (workload.CloseEachRequest)
        {
            args.Add("-H");
            args.Add("Connection: close");
        }

        args.Add(string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{port}/"));
        args.Add("--");
        args.Add(paths.ToString(CultureInfo.InvariantCulture));
        args.Add(workload.PathPrefix);
        args.Add(workload.BodyBytes.ToString(CultureInfo.InvariantCulture));
        return args;
    }

    /// <summary>Runs wrk to the end (killed 30 s after it should have ended) and returns what it printed.</summary>
    public async Task<string> RunAsync(Workload workload, int port, int seconds, CancellationToken cancel)
    {
        var log = Path.Combine(tempDir, $"wrk-{Interlocked.Increment(ref _runs):D3}-{workload.Name}.txt");
        var process = children.Start(wrk, Arguments(workload, port, seconds, script, paths), log);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            limit.CancelAfter(TimeSpan.FromSeconds(seconds + 30));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                return $"wrk did not end within {seconds + 30} s and was killed";
            }
        }
        finally
        {
            children.Stop(process);
        }

        return await File.ReadAllTextAsync(log, cancel);
    }
}
