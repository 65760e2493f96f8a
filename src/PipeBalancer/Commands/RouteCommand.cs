using System.Net;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Commands;

/// <summary>
/// <c>pipebalancer route</c>: one key per line on stdin, <c>key&lt;TAB&gt;backend</c> on stdout, as the
/// configured routing places it with every backend healthy. The line is what the request would
/// carry: a request target for <c>path</c> and <c>path-query</c> (the query is cut for
/// <c>path</c>), the field or cookie value for <c>header:</c> and <c>cookie:</c>, an IP address for
/// <c>client-ip</c>. With <c>--from URL</c> the routing and backends come from a running
/// balancer's admin API instead of a file.
/// </summary>
internal static class RouteCommand
{
    public static async Task<int> RunAsync(CommandLine line, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        BalancerConfig? config;
        if (line.From is { } from)
        {
            (config, int code) = await RunningConfig.LoadAsync(from, stderr).ConfigureAwait(false);
            if (config is null)
            {
                return code;
            }
        }
        else if ((config = ConfigFile.Load(line.ConfigPath, stderr)) is null)
        {
            return Cli.ExitCodes.BadConfig;
        }

        if (!ConfigFile.ListsEveryBackend(config, "route", stderr))
        {
            return Cli.ExitCodes.Failure;
        }

        var router = Router.Create(config.Routing, config.Backends);
        if (!router.UsesKey)
        {
            await stderr.WriteLineAsync($"pipebalancer: {RoutingNames.Of(config.Routing.Algorithm)} does not route on a key; nothing to predict").ConfigureAwait(false);
            return Cli.ExitCodes.Failure;
        }

        var view = new AllEligibleView(config.Backends.Count);
        var kind = config.Routing.Key.Kind;
        byte[] buffer = new byte[1024];
        int number = 0;
        int failed = 0;
        while (await stdin.ReadLineAsync().ConfigureAwait(false) is { } text)
        {
            number++;
            if (text.Length == 0)
            {
                continue;
            }

            ReadOnlySpan<byte> key;
            if (kind == KeySourceKind.ClientIp)
            {
                if (!IPAddress.TryParse(text, out var ip))
                {
                    await stderr.WriteLineAsync($"line {number}: '{text}' is not an IP address").ConfigureAwait(false);
                    failed++;
                    continue;
                }

                key = buffer.AsSpan(0, KeyExtractor.WriteClientIp(ip, buffer));
            }
            else
            {
                int max = Encoding.UTF8.GetMaxByteCount(text.Length);
                if (buffer.Length < max)
                {
                    buffer = new byte[max];
                }

                key = buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer));
                if (kind is KeySourceKind.Path or KeySourceKind.PathQuery)
                {
                    key = KeyExtractor.FromTarget(key, includeQuery: kind == KeySourceKind.PathQuery);
                }
            }

            int server = router.Select(key, view);
            await stdout.WriteLineAsync($"{text}\t{config.Backends[server].Id}").ConfigureAwait(false);
        }

        await stdout.FlushAsync().ConfigureAwait(false);
        return failed == 0 ? Cli.ExitCodes.Ok : Cli.ExitCodes.Failure;
    }
}
