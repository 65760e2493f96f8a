using System.Text.Json;
using System.Text.Json.Serialization;
using PipeBalancer.Routing;

namespace PipeBalancer.Commands;

/// <summary><c>pipebalancer ring</c>: the capacity-planning view of the configured routing.</summary>
internal static class RingCommand
{
    public static int Run(CommandLine line, TextWriter stdout, TextWriter stderr)
    {
        var config = ConfigFile.Load(line.ConfigPath, stderr);
        if (config is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        if (!ConfigFile.ListsEveryBackend(config, "ring", stderr))
        {
            return Cli.ExitCodes.Failure;
        }

        var report = RingReport.Create(config.Routing, config.Backends, line.Keys);
        stdout.Write(line.Json ? JsonSerializer.Serialize(report, CliJsonContext.Default.RingReport) + Environment.NewLine : report.ToText());
        return Cli.ExitCodes.Ok;
    }
}

/// <summary>Source-generated serialization for the command line's JSON output (no reflection, AOT-safe).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RingReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
