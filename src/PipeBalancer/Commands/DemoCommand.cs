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

        await using var host = await BalancerHost.StartForCommandAsync(config, "pipebalancer demo", stderr,
            line.JsonLogs ? LogSetup.Json : LogSetup.Console, line.ConfigPath,
            line.AccessLog ? new Forwarding.AccessLog(Console.OpenStandardOutput(), line.JsonLogs) : null).ConfigureAwait(false);
        if (host is null)
        {
            await StopAsync(backends).ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        var http = config.Listeners.FirstOrDefault(l => l.Mode == Configuration.ListenerMode.Http);
        await stdout.WriteLineAsync($"pipebalancer demo: {config.Backends.Count} sample backends ({string.Join(", ", config.Backends.Select(b => $"{b.Id} on {b.Address}"))})").ConfigureAwait(false);
        if (http is not null)
        {
            string url = $"http://{host.EndPoint(http.Name)}";
            await stdout.WriteLineAsync($"""
                balancer listening on {url}

                Try, in another terminal:
                  curl {url}/users/1          # one backend answers
                  curl {url}/users/1          # the same path reaches the same backend
                  curl {url}/images/cat.png   # another path may reach another one
                  for p in a b c d e f g h; do curl -s {url}/$p; done
                  printf '/users/1\n/images/cat.png\n' | pipebalancer route --config {line.ConfigPath}

                Ctrl+C stops the balancer and the sample backends.
                """).ConfigureAwait(false);
        }

        await stdout.FlushAsync().ConfigureAwait(false);
        await host.RunUntilSignalledAsync().ConfigureAwait(false);
        await StopAsync(backends).ConfigureAwait(false);
        return Cli.ExitCodes.Ok;
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
