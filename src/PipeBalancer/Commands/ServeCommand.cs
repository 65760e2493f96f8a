using PipeBalancer.Hosting;
using PipeBalancer.Routing;

namespace PipeBalancer.Commands;

/// <summary><c>pipebalancer serve</c>: load lb.json and run the balancer until stopped.</summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        // Disposed after the host, once the last lines are written.
        using var files = LogFiles.TryOpen(line, out string? fileError);
        if (files is null)
        {
            await stderr.WriteLineAsync($"pipebalancer: cannot start: {fileError}").ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        await using var host = await BalancerHost.StartForCommandAsync(config, "pipebalancer", stderr,
            line.JsonLogs ? LogSetup.Json : LogSetup.Console, line.ConfigPath,
            line.AccessLog ? new Forwarding.AccessLog(files.Access ?? Console.OpenStandardOutput(), line.JsonLogs) : null).ConfigureAwait(false);
        if (host is null)
        {
            return Cli.ExitCodes.Failure;
        }

        host.LogFiles = files;

        // With JSON logs stdout carries JSON lines only; the human summary goes to stderr.
        var human = line.JsonLogs ? stderr : stdout;
        var router = host.State.Current.Backends.Router;
        foreach (var listener in config.Listeners)
        {
            string scheme = listener.Tls is null ? "" : ", TLS";
            await human.WriteLineAsync($"pipebalancer {Cli.Version}: {listener.Name} ({listener.Mode.ToString().ToLowerInvariant()}{scheme}) listening on {host.EndPoint(listener.Name)}").ConfigureAwait(false);
        }

        await human.WriteLineAsync($"admin (dashboard, stats, metrics) on http://{host.AdminEndPoint}/").ConfigureAwait(false);
        await human.WriteLineAsync($"routing {RoutingNames.Of(router.Algorithm)} on {config.Routing.Key} over {router.Servers.Count} backend(s); Ctrl+C to stop, SIGHUP or a change of {line.ConfigPath} to reload").ConfigureAwait(false);
        await human.FlushAsync().ConfigureAwait(false);
        await host.RunUntilSignalledAsync().ConfigureAwait(false);
        return Cli.ExitCodes.Ok;
    }
}
