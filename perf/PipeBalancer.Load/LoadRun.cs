using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Text.Json;

namespace PipeBalancer.Load;

/// <summary>
/// One invocation: build, start three nginx backends, the balancer and HAProxy on the same
/// backends, measure every workload in pairs, write the report. Owns every process it starts.
/// </summary>
internal sealed class LoadRun(LoadOptions options, string root, RequiredTools tools, ChildProcesses children, string temp)
{
    // The variables the balancer sets for itself at start (src/PipeBalancer/Startup.cs). The
    // shipped binary runs without them in its environment and so gets its own defaults; one
    // inherited from this shell would override them, so they are removed.
    private static readonly string[] SocketEngineVariables = ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"];

    private readonly List<string> _notes = [];
    private bool _failed;

    private string Dll => Path.Combine(root, "src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll");

    private string AotExecutable => Path.Combine(root, "artifacts/publish/linux-x64/pipebalancer");

    private static void Log(string message) => Console.Error.WriteLine($"load: {message}");

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var started = DateTime.UtcNow;
        var commit = Commit();
        if (!options.SkipBuild && !await BuildAsync(cancel))
        {
            return 1;
        }

        var balancerBinary = options.Aot ? AotExecutable : Dll;
        if (!File.Exists(balancerBinary))
        {
            Log($"{balancerBinary} does not exist: run without --skip-build{(options.Aot ? ", or ./build.sh publish" : "")}");
            return 1;
        }

        var ports = FreePorts.Take(11);
        int[] backendPorts = [ports[0], ports[1], ports[2]];
        var balancerFront = new FrontPorts(ports[3], ports[4], ports[5]);
        var adminPort = ports[6];
        var haproxyFront = new FrontPorts(ports[7], ports[8], ports[9]);

        var (certificate, key, combined) = SelfSignedCertificate.Write(temp);
        if (!await StartBackendsAsync(backendPorts, cancel))
        {
            return 1;
        }

        var lbJson = Path.Combine(temp, "lb.json");
        await File.WriteAllTextAsync(lbJson, ConfigFiles.Balancer(balancerFront, adminPort, backendPorts, certificate, key, options.RateLimit, options.Tracing), cancel);
        var haproxyCfg = Path.Combine(temp, "haproxy.cfg");
        await File.WriteAllTextAsync(haproxyCfg, ConfigFiles.Haproxy(haproxyFront, backendPorts, combined, HaproxyMaxConnections()), cancel);

        var balancerEnvironment = SocketEngineVariables.ToDictionary(v => v, _ => (string?)null);
        foreach (var v in SocketEngineVariables.Where(v => Environment.GetEnvironmentVariable(v) is not null))
        {
            Log($"{v} is set in this shell; the balancer is started without it, as the shipped binary runs");
        }

        var balancerLog = Path.Combine(temp, "pipebalancer.log");
        var balancer = new Proxy(ReportWriter.Balancer, balancerFront, children, () => options.Aot
            ? children.Start(AotExecutable, ["serve", "--config", lbJson], balancerLog, balancerEnvironment)
            : children.Start("dotnet", [Dll, "serve", "--config", lbJson], balancerLog, balancerEnvironment), [adminPort], balancerLog);
        var haproxyLog = Path.Combine(temp, "haproxy.log");
        var haproxy = new Proxy(ReportWriter.Haproxy, haproxyFront, children, () =>
            children.Start(tools.Haproxy, ["-db", "-f", haproxyCfg], haproxyLog), [], haproxyLog);

        Log($"starting the balancer ({(options.Aot ? "Native AOT" : "JIT")}) on 127.0.0.1:{balancerFront.Http} (TLS {balancerFront.Https}, TCP {balancerFront.Tcp}, admin {adminPort}) and HAProxy on 127.0.0.1:{haproxyFront.Http} (TLS {haproxyFront.Https}, TCP {haproxyFront.Tcp})");
        var results = new List<WorkloadRuns>();
        var startErrors = new List<string>();
        foreach (var proxy in new[] { balancer, haproxy })
        {
            if (await proxy.StartAsync(cancel) is { } error)
            {
                startErrors.Add(error);
            }
        }

        if (startErrors.Count == 0)
        {
            _notes.Add(await SocketEngineNoteAsync(adminPort, cancel));
            var wrk = new WrkRunner(tools.Wrk, Path.Combine(AppContext.BaseDirectory, "requests.lua"), options.Paths, children, temp);
            foreach (var workload in options.Workloads)
            {
                results.Add(new WorkloadRuns(workload, await MeasureWorkloadAsync(workload, balancer, haproxy, wrk, cancel)));
            }
        }
        else
        {
            _failed = true;
            foreach (var workload in options.Workloads)
            {
                results.Add(new WorkloadRuns(workload, [RunResult.Failed(ReportWriter.Balancer, 1, string.Join("; ", startErrors))]));
            }
        }

        balancer.Stop();
        haproxy.Stop();
        var info = new RunInfo(started, commit, options.Aot ? "Native AOT" : "JIT", Environment.ProcessorCount, CpuModel(), Kernel(), ToolVersions(), options);
        var stamp = started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var heading = string.IsNullOrEmpty(options.DocsHeading) ? $"Load run {info.Timestamp}" : options.DocsHeading;
        var report = ReportWriter.Write(heading, info, results, _notes);
        Console.WriteLine(report);
        var resultsDir = Path.Combine(root, "perf/load/results");
        Directory.CreateDirectory(resultsDir);
        var file = Path.Combine(resultsDir, stamp + ".md");
        await File.WriteAllTextAsync(file, report, cancel);
        Log($"saved {Path.GetRelativePath(root, file)}");
        if (options.DocsHeading is not null)
        {
            var doc = Path.Combine(root, "docs/performance.md");
            await File.WriteAllTextAsync(doc, PerformanceDoc.Append(await File.ReadAllTextAsync(doc, cancel), report), cancel);
            Log($"appended the table to docs/performance.md under \"{PerformanceDoc.Section}\"");
        }

        return _failed || results.Any(w => w.Runs.Any(r => !r.Succeeded)) ? 1 : 0;
    }

    private async Task<List<RunResult>> MeasureWorkloadAsync(Workload workload, Proxy balancer, Proxy haproxy, WrkRunner wrk, CancellationToken cancel)
    {
        var runs = new List<RunResult>();
        for (var pair = 1; pair <= options.Pairs; pair++)
        {
            // Back to back, the order flipped every pair, so that drift on the machine hits both alike.
            var order = pair % 2 == 1 ? new[] { balancer, haproxy } : [haproxy, balancer];
            foreach (var proxy in order)
            {
                Log($"{workload.Name}: pair {pair}/{options.Pairs}, {proxy.Name}");
                var run = workload.Idle
                    ? await MeasureIdleAsync(workload, proxy, pair, wrk, cancel)
                    : await MeasureWrkAsync(workload, proxy, pair, wrk, cancel);
                if (run.Failure is { } failure)
                {
                    Log($"{workload.Name}, pair {pair}, {proxy.Name}: {failure}");
                }

                runs.Add(run);
            }
        }

        return runs;
    }

    private async Task<RunResult> MeasureWrkAsync(Workload workload, Proxy proxy, int pair, WrkRunner wrk, CancellationToken cancel)
    {
        if (await EnsureRunningAsync(proxy, cancel) is { } down)
        {
            return RunResult.Failed(proxy.Name, pair, down);
        }

        var port = proxy.Front.For(workload.Listener);
        if (options.WarmupSeconds > 0)
        {
            await wrk.RunAsync(workload, port, options.WarmupSeconds, cancel);
        }

        var family = proxy.Family;
        var before = ProcStat.CpuTicks(family);
        var output = await wrk.RunAsync(workload, port, options.DurationSeconds, cancel);
        var after = ProcStat.CpuTicks(family);
        var rss = ProcStat.RssKb(family);
        var exited = proxy.IsRunning ? "" : $" ({proxy.Name} exited during the run)";
        if (!WrkOutputParser.TryParse(output, out var result, out var error))
        {
            return RunResult.Failed(proxy.Name, pair, error + exited);
        }

        if (exited.Length > 0)
        {
            return RunResult.Failed(proxy.Name, pair, exited.Trim(' ', '(', ')'));
        }

        double? cpu = result!.Requests > 0 ? (after - before) * 1e6 / ProcStat.ClockTicksPerSecond / result.Requests : null;
        return new RunResult(proxy.Name, pair, result, cpu, rss, null, result.Requests > 0 ? null : "no request completed");
    }

    private async Task<RunResult> MeasureIdleAsync(Workload workload, Proxy proxy, int pair, WrkRunner wrk, CancellationToken cancel)
    {
        // A fresh process for every idle run: memory a pool kept from earlier load would hide
        // what the connections cost.
        if (await proxy.StartAsync(cancel) is { } error)
        {
            return RunResult.Failed(proxy.Name, pair, error);
        }

        if (options.WarmupSeconds > 0)
        {
            await wrk.RunAsync(Workloads.All[0], proxy.Front.Http, Math.Min(options.WarmupSeconds, 2), cancel);
        }

        await Task.Delay(TimeSpan.FromSeconds(1), cancel);
        var rssBefore = ProcStat.RssKb(proxy.Family);
        using (var clients = await IdleClients.OpenAsync(proxy.Front.For(workload.Listener), workload.Connections, cancel))
        {
            await Task.Delay(TimeSpan.FromSeconds(2), cancel);
            var family = proxy.Family;
            var rssWith = ProcStat.RssKb(family);
            var before = ProcStat.CpuTicks(family);
            await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds), cancel);
            var after = ProcStat.CpuTicks(family);
            if (!proxy.IsRunning)
            {
                return RunResult.Failed(proxy.Name, pair, $"{proxy.Name} exited while holding the idle clients");
            }

            var cpuPercent = (after - before) * 100.0 / ProcStat.ClockTicksPerSecond / options.IdleSeconds;
            var idle = new IdleResult(clients.Connected, clients.Failed, clients.FirstError, rssBefore, rssWith, cpuPercent);
            return new RunResult(proxy.Name, pair, null, null, rssWith, idle, clients.Connected > 0 ? null : $"no client connected: {clients.FirstError}");
        }
    }

    // HAProxy refuses to start when it cannot raise its open-files limit to about twice its
    // maxconn; the hard limit it inherits decides how many connections it may take.
    private static int HaproxyMaxConnections()
    {
        var hard = 65536L;
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var words = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is { Length: >= 5 } && long.TryParse(words[4], NumberStyles.None, CultureInfo.InvariantCulture, out var h))
            {
                hard = h;
            }
        }
        catch (IOException)
        {
            // Keep the guess.
        }

        return (int)Math.Clamp((hard - 200) / 2, 256, 40_000);
    }

    private async Task<string?> EnsureRunningAsync(Proxy proxy, CancellationToken cancel)
    {
        if (proxy.IsRunning)
        {
            return null;
        }

        _failed = true;
        _notes.Add($"{proxy.Name} had exited and was started again (see the runs it missed)");
        Log($"{proxy.Name} is not running; starting it again");
        return await proxy.StartAsync(cancel);
    }

    private async Task<bool> StartBackendsAsync(int[] ports, CancellationToken cancel)
    {
        var dir = Path.Combine(temp, "backends");
        Directory.CreateDirectory(dir);
        await File.WriteAllBytesAsync(Path.Combine(dir, "big.bin"), new byte[ConfigFiles.LargeFileBytes], cancel);
        var conf = Path.Combine(dir, "nginx.conf");
        await File.WriteAllTextAsync(conf, ConfigFiles.NginxBackends(dir, ports), cancel);
        var log = Path.Combine(dir, "nginx.log");
        Log($"starting nginx backends s1..s3 on 127.0.0.1:{string.Join(",", ports)}");
        var nginx = children.Start(tools.Nginx, ["-p", dir + "/", "-c", conf, "-e", Path.Combine(dir, "error.log")], log);
        foreach (var port in ports)
        {
            if (!await FreePorts.WaitAcceptingAsync(port, nginx, TimeSpan.FromSeconds(15), cancel))
            {
                Log($"the nginx backends did not start; {log}:");
                Console.Error.WriteLine(File.Exists(log) ? await File.ReadAllTextAsync(log, cancel) : "(empty)");
                return false;
            }
        }

        return true;
    }

    private async Task<bool> BuildAsync(CancellationToken cancel)
    {
        var (what, file, args) = options.Aot
            ? ("the Native AOT executable (./build.sh publish)", "bash", new[] { Path.Combine(root, "build.sh"), "publish" })
            : ("the balancer (dotnet build -c Release)", "dotnet", ["build", Path.Combine(root, "src/PipeBalancer/PipeBalancer.csproj"), "-c", "Release", "-nologo", "-v", "quiet"]);
        Log($"building {what}");
        var log = Path.Combine(temp, "build.log");
        var process = children.Start(file, args, log);
        await process.WaitForExitAsync(cancel);
        var code = process.ExitCode;
        children.Stop(process);
        if (code != 0)
        {
            Console.Error.WriteLine(string.Join(Environment.NewLine, (await File.ReadAllLinesAsync(log, cancel)).TakeLast(30)));
            Log($"building {what} failed (exit code {code})");
            return false;
        }

        return true;
    }

    private static async Task<string> SocketEngineNoteAsync(int adminPort, CancellationToken cancel)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var json = await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/api/stats"), cancel);
            var inline = FindBoolean(JsonSerializer.Deserialize(json, LoadJsonContext.Default.JsonElement), "inlineSocketCompletions");
            return inline switch
            {
                true => "the balancer ran with inline socket completions (its /api/stats: `inlineSocketCompletions: true`), as the shipped binary sets them itself",
                false => "the balancer ran WITHOUT inline socket completions (its /api/stats: `inlineSocketCompletions: false`)",
                _ => "the balancer's /api/stats does not say whether socket completions ran inline",
            };
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException)
        {
            return $"the balancer's /api/stats could not be read ({e.Message})";
        }
    }

    private static bool? FindBoolean(JsonElement element, string name)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in element.EnumerateObject())
            {
                if (p.Name == name && p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    return p.Value.GetBoolean();
                }

                if (FindBoolean(p.Value, name) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    private string Commit()
    {
        var hash = Capture("git", "-C", root, "rev-parse", "--short", "HEAD")?.Trim();
        if (string.IsNullOrEmpty(hash))
        {
            return "unknown";
        }

        var status = Capture("git", "-C", root, "status", "--porcelain", "--untracked-files=no");
        return string.IsNullOrWhiteSpace(status) ? hash : hash + " (dirty: uncommitted changes)";
    }

    private string ToolVersions()
    {
        var wrkVersion = Capture(tools.Wrk, "-v")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "?";
        var haproxyVersion = Capture(tools.Haproxy, "-v")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(2) ?? "?";
        var nginxVersion = Capture(tools.Nginx, "-v")?.Trim().Split('/').LastOrDefault() ?? "?";
        return $"wrk {wrkVersion}, HAProxy {haproxyVersion} (nbthread 2), nginx {nginxVersion} backends (3, one worker)";
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }

    private static string Kernel() => Capture("uname", "-r")?.Trim() ?? "?";

    // stdout and stderr of a short command (nginx -v prints to stderr), or null if it cannot run.
    private static string? Capture(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            using var p = Process.Start(info)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output + err.Result;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
