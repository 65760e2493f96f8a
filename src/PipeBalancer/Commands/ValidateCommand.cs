namespace PipeBalancer.Commands;

/// <summary><c>pipebalancer validate [PATH]</c>: like <c>nginx -t</c>, every error and an exit code.</summary>
internal static class ValidateCommand
{
    public static int Run(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        stdout.WriteLine(
            $"{line.ConfigPath}: ok ({config.Listeners.Count} listener(s), {config.Backends.Count} backend(s), " +
            $"routing {Routing.RoutingNames.Of(config.Routing.Algorithm)} on {config.Routing.Key})");
        return Cli.ExitCodes.Ok;
    }
}
