using PipeBalancer.Configuration;
using PipeBalancer.Hosting;

namespace PipeBalancer.Commands;

/// <summary><c>pipebalancer validate [PATH] [--print]</c>: like <c>nginx -t</c> (every error and an exit code), and with <c>--print</c> like <c>nginx -T</c>.</summary>
internal static class ValidateCommand
{
    public static int Run(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        // The certificates are loaded as `serve` loads them, so a key that does not match or a
        // file that is not PEM is found here and not at start-up or on a reload.
        int errors = 0;
        for (int i = 0; i < config.Listeners.Count; i++)
        {
            if (config.Listeners[i].Tls is { } tls && CertificateSource.TryLoad(tls, out string? error) is null)
            {
                stderr.WriteLine($"{line.ConfigPath}: listeners[{i}].tls: {error}");
                errors++;
            }
        }

        if (errors > 0)
        {
            stderr.WriteLine($"{line.ConfigPath}: {errors} error(s); configuration rejected");
            return Cli.ExitCodes.BadConfig;
        }

        if (line.Print)
        {
            // As `nginx -T`: the configuration on stdout, so that it can be saved or diffed, and
            // the verdict on stderr. The token is redacted: the output is for reading.
            stdout.WriteLine(ConfigWriter.ToJson(config, redactSecrets: true));
        }

        (line.Print ? stderr : stdout).WriteLine(
            $"{line.ConfigPath}: ok ({config.Listeners.Count} listener(s), {config.Backends.Count} backend(s), " +
            $"routing {Routing.RoutingNames.Of(config.Routing.Algorithm)} on {config.Routing.Key})");
        return Cli.ExitCodes.Ok;
    }
}
