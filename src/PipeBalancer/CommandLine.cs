using System.Globalization;

namespace PipeBalancer;

/// <summary>
/// A parsed command line. Each command accepts its own options only (<see cref="CommandSpec"/>):
/// an option of another command, or an argument where the command takes none, is refused with
/// a precise message rather than ignored.
/// </summary>
internal sealed record CommandLine(string Command, string ConfigPath, int Keys, bool Json)
{
    /// <summary><c>--address</c> of <c>demo-backend</c>.</summary>
    public string? Address { get; init; }

    /// <summary><c>--id</c> of <c>demo-backend</c>.</summary>
    public string? Id { get; init; }

    /// <summary><c>--log-format json</c>: log lines as JSON objects.</summary>
    public bool JsonLogs { get; init; }

    /// <summary><c>--access-log</c> (or <c>--access-log-file</c>): one line per request, buffered.</summary>
    public bool AccessLog { get; init; }

    /// <summary><c>--log-file PATH</c>: log lines go to this file (reopened on SIGUSR1) instead of stdout.</summary>
    public string? LogFile { get; init; }

    /// <summary><c>--access-log-file PATH</c>: access log lines go to this file (reopened on SIGUSR1) instead of stdout.</summary>
    public string? AccessLogFile { get; init; }

    /// <summary><c>validate --print</c>: the configuration in force, every default filled in, on stdout.</summary>
    public bool Print { get; init; }

    /// <summary><c>route --from URL</c>: the admin API whose routing and backends to use instead of a file.</summary>
    public string? From { get; init; }

    /// <summary>For <see cref="Command"/> <c>help</c>: the command whose help is asked for, or null for the overview.</summary>
    public string? HelpTopic { get; init; }

    public const string DefaultConfigPath = "lb.json";
    public const int DefaultKeys = 100_000;

    public static bool TryParse(string[] args, out CommandLine? line, out string? error)
    {
        line = null;
        error = null;
        var spec = CommandSpec.Serve;
        bool commandGiven = false;
        string? config = null;
        int keys = DefaultKeys;
        bool json = false;
        bool print = false;
        string? address = null;
        string? id = null;
        bool jsonLogs = false;
        bool accessLog = false;
        string? logFile = null;
        string? accessLogFile = null;
        string? special = null;
        string? helpTopic = null;
        string? from = null;
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            if (args[0] == "help")
            {
                // `pipebalancer help [COMMAND]`
                if (args.Length > 2)
                {
                    error = $"help takes one command, got '{args[2]}'";
                    return false;
                }

                if (args.Length == 2 && CommandSpec.Find(args[1]) is null)
                {
                    error = $"unknown command '{args[1]}'";
                    return false;
                }

                line = new CommandLine("help", DefaultConfigPath, DefaultKeys, false) { HelpTopic = args.Length == 2 ? args[1] : null };
                return true;
            }

            if (args[0] == "version")
            {
                special = "version";
            }
            else
            {
                if (CommandSpec.Find(args[0]) is not { } found)
                {
                    error = $"unknown command '{args[0]}'";
                    return false;
                }

                spec = found;

                commandGiven = true;
            }

            i = 1;
        }

        string command = spec.Name;
        for (; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help")
            {
                special = "help";
                helpTopic = commandGiven ? command : null;
                continue;
            }

            if (arg is "-v" or "--version")
            {
                special ??= "version";
                continue;
            }

            if (!arg.StartsWith('-') || arg == "-")
            {
                if (spec.Argument is not null && config is null)
                {
                    config = arg;
                    continue;
                }

                error = spec.Argument is null
                    ? $"{command}: unexpected argument '{arg}' ({command} takes options only)"
                    : $"{command}: unexpected argument '{arg}' (the configuration file is already '{config}')";
                return false;
            }

            if (!spec.Options.Contains(arg))
            {
                string? owners = CommandSpec.Owners(arg);
                error = owners is null
                    ? $"{command}: unknown option '{arg}'"
                    : $"{command}: unknown option '{arg}' (an option of {owners})";
                return false;
            }

            switch (arg)
            {
                case "-c" or "--config":
                    if (config is not null && spec.Argument is not null)
                    {
                        error = $"{command}: the configuration file is given twice ('{config}' and {arg})";
                        return false;
                    }

                    if (!TryValue(args, ref i, out config, out error))
                    {
                        return false;
                    }

                    break;
                case "--log-format":
                    if (!TryValue(args, ref i, out string? format, out error))
                    {
                        return false;
                    }

                    if (format is not ("json" or "console"))
                    {
                        error = $"--log-format is 'console' or 'json', got '{format}'";
                        return false;
                    }

                    jsonLogs = format == "json";
                    break;
                case "--access-log":
                    accessLog = true;
                    break;
                case "--log-file":
                    if (!TryValue(args, ref i, out logFile, out error))
                    {
                        return false;
                    }

                    break;
                case "--access-log-file":
                    if (!TryValue(args, ref i, out accessLogFile, out error))
                    {
                        return false;
                    }

                    accessLog = true;
                    break;
                case "--keys":
                    if (!TryValue(args, ref i, out string? text, out error))
                    {
                        return false;
                    }

                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out keys) || keys > 10_000_000)
                    {
                        error = $"--keys needs a whole number 0..10000000, got '{text}'";
                        return false;
                    }

                    break;
                case "--json":
                    json = true;
                    break;
                case "--print":
                    print = true;
                    break;
                case "--from":
                    if (!TryValue(args, ref i, out from, out error))
                    {
                        return false;
                    }

                    if (!Uri.TryCreate(from, UriKind.Absolute, out var fromUri) || fromUri.Scheme is not ("http" or "https"))
                    {
                        error = $"--from needs the admin API's URL, like http://127.0.0.1:9090, got '{from}'";
                        return false;
                    }

                    break;
                case "--address":
                    if (!TryValue(args, ref i, out address, out error))
                    {
                        return false;
                    }

                    break;
                case "--id":
                    if (!TryValue(args, ref i, out id, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    throw new InvalidOperationException($"option {arg} is in the table of {command} but has no case here");
            }
        }

        if (from is not null && config is not null)
        {
            error = $"{command}: --from and --config both say where the backends come from; give one";
            return false;
        }

        if (logFile is not null && logFile == accessLogFile)
        {
            error = $"--log-file and --access-log-file name the same file '{logFile}'";
            return false;
        }

        line = new CommandLine(special ?? command, config ?? DefaultConfigPath, keys, json)
        {
            Address = address,
            Id = id,
            JsonLogs = jsonLogs,
            AccessLog = accessLog,
            LogFile = logFile,
            AccessLogFile = accessLogFile,
            HelpTopic = helpTopic,
            Print = print,
            From = from,
        };
        return true;
    }

    private static bool TryValue(string[] args, ref int i, out string? value, out string? error)
    {
        if (i + 1 >= args.Length)
        {
            value = null;
            error = $"{args[i]} needs a value";
            return false;
        }

        value = args[++i];
        error = null;
        return true;
    }
}
