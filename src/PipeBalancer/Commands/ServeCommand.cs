using PipeBalancer.Routing;

namespace PipeBalancer.Commands;

/// <summary><c>pipebalancer serve</c>: load lb.json and run the balancer.</summary>
internal static class ServeCommand
{
    public static Task<int> RunAsync(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Task.FromResult(Cli.ExitCodes.BadConfig);
        }

        var router = Router.Create(config.Routing, config.Backends);
        stdout.WriteLine($"pipebalancer {Cli.Version}: {line.ConfigPath} loaded; routing {RoutingNames.Of(router.Algorithm)} over {router.Servers.Count} backend(s), {router.Size} points");

        // The proxy listeners are not part of this build yet: say so plainly rather than
        // pretend to serve.
        stderr.WriteLine("pipebalancer: this build has the routing core and tools (validate, route, ring) but no listeners yet; nothing to serve");
        return Task.FromResult(Cli.ExitCodes.Failure);
    }
}
