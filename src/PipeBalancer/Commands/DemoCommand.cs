using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using PipeBalancer.Hosting;

namespace PipeBalancer.Commands;

/// <summary>
/// <c>pipebalancer demo</c>: starts a sample backend on every backend address of lb.json, then
/// the balancer, and prints curl commands that show the routing at work.
/// <c>pipebalancer demo-backend --address A --id ID</c> runs one sample backend alone.
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        var backends = new List<WebApplication>();
        try
        {
            foreach (var backend in config.Backends)
            {
                var app = SampleBackend.Create(backend.Id, backend.Address);
                await app.StartAsync().ConfigureAwait(false);
                backends.Add(app);
            }
        }
        catch (IOException e)
        {
            await stderr.WriteLineAsync($"pipebalancer demo: cannot start the sample backends: {e.Message}").ConfigureAwait(false);
            await StopAsync(backends).ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        // Disposed after the host, once the last lines are written.
        using var files = LogFiles.TryOpen(line, out string? fileError);
        if (files is null)
        {
            await stderr.WriteLineAsync($"pipebalancer demo: cannot start: {fileError}").ConfigureAwait(false);
            await StopAsync(backends).ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        await using var host = await BalancerHost.StartForCommandAsync(config, "pipebalancer demo", stderr,
            line.JsonLogs ? LogSetup.Json : LogSetup.Console, line.ConfigPath,
            line.AccessLog ? new Forwarding.AccessLog(files.Access ?? Console.OpenStandardOutput(), line.JsonLogs) : null).ConfigureAwait(false);
        if (host is null)
        {
            await StopAsync(backends).ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        host.LogFiles = files;

        var http = config.Listeners.FirstOrDefault(l => l.Mode == Configuration.ListenerMode.Http);
        await stdout.WriteLineAsync($"pipebalancer demo: {config.Backends.Count} sample backends ({string.Join(", ", config.Backends.Select(b => $"{b.Id} on {b.Address}"))})").ConfigureAwait(false);
        await stdout.WriteAsync(Banner(http is null ? null : $"http://{host.EndPoint(http.Name)}", $"http://{host.AdminEndPoint}/",
            Invocation(Environment.GetEnvironmentVariable(CommandVariable), Environment.ProcessPath, Path.Combine(AppContext.BaseDirectory, "pipebalancer.dll")), line.ConfigPath)).ConfigureAwait(false);
        await stdout.FlushAsync().ConfigureAwait(false);
        await host.RunUntilSignalledAsync().ConfigureAwait(false);
        await StopAsync(backends).ConfigureAwait(false);
        return Cli.ExitCodes.Ok;
    }

    /// <summary>
    /// How the banner spells the executable when the user started it another way (build.sh sets
    /// it to <c>./build.sh run</c>, since the executable is not on the PATH).
    /// </summary>
    public const string CommandVariable = "PIPEBALANCER_COMMAND";

    /// <summary>What the demo prints once everything listens: where, and commands that work as printed.</summary>
    public static string Banner(string? balancerUrl, string dashboardUrl, string command, string configPath)
    {
        var text = new System.Text.StringBuilder();
        if (balancerUrl is not null)
        {
            text.Append($"""
                balancer listening on {balancerUrl}
                dashboard (live stats) on {dashboardUrl}

                Try, in another terminal:
                  curl {balancerUrl}/users/1          # one backend answers
                  curl {balancerUrl}/users/1          # the same path reaches the same backend
                  curl {balancerUrl}/images/cat.png   # another path may reach another one
                  for p in a b c d e f g h; do curl -s {balancerUrl}/$p; echo; done
                  printf '/users/1\n/images/cat.png\n' | {command} route --config {configPath}


                """);
        }
        else
        {
            text.Append($"dashboard (live stats) on {dashboardUrl}\n\n");
        }

        text.Append("Ctrl+C stops the balancer and the sample backends.\n");
        return text.ToString();
    }

    /// <summary>
    /// The command that runs this executable again from the working directory: the one the
    /// environment names, else the native executable (its name alone when its directory is on
    /// the PATH), else <c>dotnet pipebalancer.dll</c>.
    /// </summary>
    public static string Invocation(string? fromEnvironment, string? processPath, string assemblyPath)
    {
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        static string Relative(string path)
        {
            string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
            return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : "./" + relative;
        }

        if (processPath is null)
        {
            return "pipebalancer";
        }

        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            return "dotnet " + Relative(assemblyPath);
        }

        string? directory = Path.GetDirectoryName(processPath);
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return directory is not null && path.Any(p => string.Equals(Path.GetFullPath(p).TrimEnd(Path.DirectorySeparatorChar), directory, StringComparison.Ordinal))
            ? Path.GetFileNameWithoutExtension(processPath)
            : Relative(processPath);
    }

    public static async Task<int> RunBackendAsync(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        if (line.Address is null || line.Id is null ||
            !Configuration.HostPort.TryParse(line.Address, allowAnyHost: false, out var address, out string? error))
        {
            await stderr.WriteLineAsync("pipebalancer demo-backend: needs --address HOST:PORT and --id ID").ConfigureAwait(false);
            return Cli.ExitCodes.Usage;
        }

        await using var app = SampleBackend.Create(line.Id, address!);
        await app.StartAsync().ConfigureAwait(false);
        await stdout.WriteLineAsync($"sample backend {line.Id} listening on {address}").ConfigureAwait(false);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        return Cli.ExitCodes.Ok;
    }

    private static async Task StopAsync(List<WebApplication> apps)
    {
        foreach (var app in apps)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
