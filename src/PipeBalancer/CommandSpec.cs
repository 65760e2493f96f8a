using System.Text;

namespace PipeBalancer;

/// <summary>
/// What one command accepts (its options, and its argument if it takes one) and its help text.
/// The parser refuses anything not in a command's list; <c>pipebalancer COMMAND --help</c>
/// prints this.
/// </summary>
internal sealed record CommandSpec(string Name, string Usage, string Summary, string? Argument, string[] Options)
{
    private const string ConfigHelp = "the configuration file (default: ./lb.json)";

    // One line of help per option, shared by every command that takes it.
    private static readonly (string Names, string Help)[] OptionHelp =
    [
        ("-c, --config PATH", ConfigHelp),
        ("--log-format FORMAT", "`console` (default) or `json`: one JSON object per log line"),
        ("--log-file PATH", "log lines to PATH instead of stdout; reopened on SIGUSR1"),
        ("--access-log", "one line per proxied request on stdout, buffered"),
        ("--access-log-file PATH", "the access log to PATH instead of stdout (implies --access-log); reopened on SIGUSR1"),
        ("--keys N", "synthetic keys (default: 100000)"),
        ("--json", "the report as JSON"),
        ("--print", "print the configuration in force as JSON, every default filled in (admin.token redacted)"),
        ("--from URL", "the routing and backends of a running balancer, read from its admin API\n                          (e.g. http://127.0.0.1:9090) instead of a file"),
        ("--address HOST:PORT", "where the sample backend listens"),
        ("--id ID", "its id, in its answers"),
    ];

    private static readonly string[] Running = ["-c", "--config", "--log-format", "--log-file", "--access-log", "--access-log-file"];

    public static readonly CommandSpec Serve = new("serve",
        "pipebalancer [serve] [--config PATH] [--log-format console|json] [--log-file PATH]\n                    [--access-log] [--access-log-file PATH]",
        "Runs the balancer until SIGTERM or Ctrl+C (a graceful stop); SIGHUP or a change of the\nfile reloads it, SIGUSR1 reopens the log files.",
        null, Running);

    public static readonly CommandSpec Validate = new("validate",
        "pipebalancer validate [PATH | --config PATH] [--print]",
        "Checks a configuration like `nginx -t`: prints every error with its JSON path and exits 2,\nor prints `PATH: ok (...)` and exits 0. TLS certificates and keys are loaded as serve loads them.\nWith --print, the configuration in force goes to stdout and the ok line to stderr (as `nginx -T`).",
        "PATH",
        ["-c", "--config", "--print"]);

    public static readonly CommandSpec Route = new("route",
        "pipebalancer route [--config PATH] [--from URL]",
        "Reads one key per line on stdin and prints key<TAB>backend: where the configured routing\nsends it with every backend healthy. With --from, the routing and backends in force in the\nbalancer whose admin API is at URL: run it against each instance to check they place keys alike.",
        null, ["-c", "--config", "--from"]);

    public static readonly CommandSpec Ring = new("ring",
        "pipebalancer ring [--config PATH] [--keys N] [--json]",
        "Each backend's share of the hash space and of N synthetic keys, and the keys moved when it\nis removed.",
        null, ["-c", "--config", "--keys", "--json"]);

    public static readonly CommandSpec Demo = new("demo",
        "pipebalancer demo [--config PATH] [--log-format console|json] [--log-file PATH]\n                   [--access-log] [--access-log-file PATH]",
        "Starts a sample backend on each backend address of the configuration, then the balancer,\nand prints commands to try.",
        null, Running);

    public static readonly CommandSpec DemoBackend = new("demo-backend",
        "pipebalancer demo-backend --address HOST:PORT --id ID",
        "One sample backend: answers \"hello from ID\" and /health.",
        null, ["--address", "--id"]);

    /// <summary>Every command, in the order of the help text.</summary>
    public static readonly CommandSpec[] All = [Serve, Validate, Route, Ring, Demo, DemoBackend];

    /// <summary>The command named <paramref name="name"/>, or null.</summary>
    public static CommandSpec? Find(string name) => Array.Find(All, c => c.Name == name);

    /// <summary>The commands that take <paramref name="option"/> ("ring", "serve and demo"), or null when none does.</summary>
    public static string? Owners(string option)
    {
        var names = All.Where(c => c.Options.Contains(option)).Select(c => c.Name).ToArray();
        return names.Length switch
        {
            0 => null,
            1 => names[0],
            _ => string.Join(", ", names[..^1]) + " and " + names[^1],
        };
    }

    /// <summary>The command's help: usage, what it does, its options, its exit codes.</summary>
    public string HelpText()
    {
        var text = new StringBuilder();
        text.Append("Usage: ").Append(Usage).Append("\n\n").Append(Summary).Append("\n\nOptions:\n");
        if (Argument is not null)
        {
            text.Append("  ").Append(Argument.PadRight(24)).Append(ConfigHelp).Append('\n');
        }

        foreach (var (names, help) in OptionHelp)
        {
            if (names.Split(' ').Where(t => t.StartsWith('-')).All(t => Options.Contains(t.TrimEnd(','))))
            {
                text.Append("  ").Append(names.PadRight(24)).Append(help).Append('\n');
            }
        }

        text.Append("  ").Append("-h, --help".PadRight(24)).Append("this text\n\n");
        text.Append(Name switch
        {
            "serve" or "demo" => "Exit codes: 0 stopped by a signal, 1 an address in use or a certificate that does not load,\n2 invalid configuration, 64 bad command line.",
            "validate" or "ring" => "Exit codes: 0 ok, 2 invalid configuration, 64 bad command line.",
            "route" => "Exit codes: 0 ok, 1 a line that is not a key (or an algorithm without a key, or an admin API\nthat cannot be read), 2 invalid configuration, 64 bad command line.",
            _ => "Exit codes: 0 stopped, 1 the address is in use, 64 bad command line.",
        });
        text.Append("\nMore: docs/cli.md\n");
        return text.ToString();
    }
}
