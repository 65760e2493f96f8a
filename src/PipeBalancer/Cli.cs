using System.Reflection;
using PipeBalancer.Commands;

namespace PipeBalancer;

/// <summary>The command line: <c>pipebalancer [command] [options]</c>.</summary>
internal static class Cli
{
    /// <summary>The process exit codes, documented in docs/cli.md.</summary>
    public static class ExitCodes
    {
        public const int Ok = 0;
        public const int Failure = 1;
        public const int BadConfig = 2;
        public const int Usage = 64;
    }

    public const string HelpText = """
        pipebalancer - HTTP/1.1 and TCP load balancer with consistent hashing

        Usage:
          pipebalancer [serve] [--config PATH]     run the balancer (default config: ./lb.json)
          pipebalancer validate [PATH] [--print]   check a config, print every error; exit 0 or 2;
                                                   --print: the config in force, defaults filled in
          pipebalancer route [--config PATH]       read keys on stdin, print key<TAB>backend
                   [--from URL]                    ... as the running balancer at URL routes them
          pipebalancer ring [--config PATH] [--keys N] [--json]
                                                   each backend's share of the hash space and
                                                   of N synthetic keys, and keys moved on removal
          pipebalancer demo [--config PATH]        sample backends on lb.json's backend addresses,
                                                   then the balancer: see routing with curl
          pipebalancer demo-backend --address HOST:PORT --id ID
                                                   one sample backend (answers "hello from ID")
          pipebalancer --version | --help
          pipebalancer COMMAND --help              that command's options

        Options:
          -c, --config PATH     the configuration file (default: ./lb.json)
          --log-format FORMAT   `console` (default) or `json`: one JSON object per log line
          --log-file PATH       log lines to PATH instead of stdout (serve, demo)
          --access-log          one line per proxied request on stdout, buffered
          --access-log-file PATH  the access log to PATH instead of stdout (serve, demo)
          --keys N              synthetic keys for `ring` (default: 100000)
          --json                `ring` output as JSON

        Signals (serve, demo): SIGTERM or Ctrl+C stop gracefully (requests in flight get
        timeouts.shutdownTimeoutMs); SIGHUP reloads the config file, as does saving it;
        SIGUSR1 reopens the log files (after logrotate renamed them); SIGUSR2 is ignored.

        Exit codes: 0 ok, 1 runtime failure (an address in use, a certificate that does not
        load), 2 invalid configuration, 64 bad command line.
        Documentation: docs/configuration.md, docs/cli.md, docs/operations.md, docs/admin.md
        """;

    // The SDK writes "0.1.0+<commit>" when it builds from a git checkout (SourceRevisionId,
    // read by its source control integration), and "0.1.0" elsewhere.
    private static string InformationalVersion =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The release version, e.g. <c>0.1.0</c>.</summary>
    public static string Version => InformationalVersion.Split('+')[0];

    /// <summary>The git commit the executable was built from, or <c>unknown</c> when it was not built from a git checkout.</summary>
    public static string Commit => InformationalVersion.Split('+') is [_, { Length: > 0 } commit, ..] ? commit : "unknown";

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        if (!CommandLine.TryParse(args, out var line, out string? error))
        {
            await stderr.WriteLineAsync($"pipebalancer: {error}").ConfigureAwait(false);
            await stderr.WriteLineAsync(args.Length > 0 && CommandSpec.Find(args[0]) is { } spec
                ? $"Try 'pipebalancer {spec.Name} --help'."
                : "Try 'pipebalancer --help'.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        switch (line!.Command)
        {
            case "help":
                if (line.HelpTopic is { } topic)
                {
                    await stdout.WriteAsync(CommandSpec.Find(topic)!.HelpText()).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }

                await stdout.WriteAsync(HelpText).ConfigureAwait(false);
                await stdout.WriteLineAsync().ConfigureAwait(false);
                return ExitCodes.Ok;
            case "version":
                await stdout.WriteLineAsync($"pipebalancer {Version} (commit {Commit})").ConfigureAwait(false);
                return ExitCodes.Ok;
            case "validate":
                return ValidateCommand.Run(line, stdout, stderr);
            case "route":
                return await RouteCommand.RunAsync(line, stdin, stdout, stderr).ConfigureAwait(false);
            case "ring":
                return RingCommand.Run(line, stdout, stderr);
            case "demo":
                return await DemoCommand.RunAsync(line, stdout, stderr).ConfigureAwait(false);
            case "demo-backend":
                return await DemoCommand.RunBackendAsync(line, stdout, stderr).ConfigureAwait(false);
            default:
                return await ServeCommand.RunAsync(line, stdout, stderr).ConfigureAwait(false);
        }
    }
}
