using System.Globalization;

namespace PipeBalancer;

/// <summary>A parsed command line.</summary>
internal sealed record CommandLine(string Command, string ConfigPath, int Keys, bool Json)
{
    /// <summary><c>--address</c> of <c>demo-backend</c>.</summary>
    public string? Address { get; init; }

    /// <summary><c>--id</c> of <c>demo-backend</c>.</summary>
    public string? Id { get; init; }

    /// <summary><c>--log-format json</c>: log lines as JSON objects.</summary>
    public bool JsonLogs { get; init; }

    /// <summary><c>--access-log</c>: one line per request, buffered.</summary>
    public bool AccessLog { get; init; }

    public const string DefaultConfigPath = "lb.json";
    public const int DefaultKeys = 100_000;

    private static readonly string[] Commands = ["serve", "validate", "route", "ring", "demo", "demo-backend", "help", "version"];

    public static bool TryParse(string[] args, out CommandLine? line, out string? error)
    {
        line = null;
        error = null;
        string command = "serve";
        string? config = null;
        int keys = DefaultKeys;
        bool json = false;
        string? address = null;
        string? id = null;
        bool jsonLogs = false;
        bool accessLog = false;
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            command = args[0];
            if (Array.IndexOf(Commands, command) < 0)
            {
                error = $"unknown command '{command}'";
                return false;
            }

            i = 1;
        }

        for (; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "-h" or "--help":
                    command = "help";
                    break;
                case "-v" or "--version":
                    command = "version";
                    break;
                case "-c" or "--config":
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
                case "--address" when command == "demo-backend":
                    if (!TryValue(args, ref i, out address, out error))
                    {
                        return false;
                    }

                    break;
                case "--id" when command == "demo-backend":
                    if (!TryValue(args, ref i, out id, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    if (command == "validate" && config is null && !arg.StartsWith('-'))
                    {
                        config = arg;
                        break;
                    }

                    error = $"unknown option '{arg}'";
                    return false;
            }
        }

        line = new CommandLine(command, config ?? DefaultConfigPath, keys, json) { Address = address, Id = id, JsonLogs = jsonLogs, AccessLog = accessLog };
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
