using System.Buffers;
using System.Text.Json;
using PipeBalancer.Configuration;

namespace PipeBalancer.Commands;

/// <summary>
/// The routing and backends in force in a running balancer, read from its admin API
/// (<c>GET /api/config</c>) for <c>route --from URL</c>. Only <c>routing</c>, <c>backends</c> and
/// <c>health</c> (which a backend's health override is read over) are taken: the rest (listeners
/// with their certificate paths, the redacted token and password) does not place keys.
/// </summary>
internal static class RunningConfig
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>The configuration, or null and the exit code after telling <paramref name="stderr"/> why.</summary>
    public static async Task<(BalancerConfig? Config, int ExitCode)> LoadAsync(string url, TextWriter stderr)
    {
        string address = url.TrimEnd('/') + "/api/config";
        string body;
        try
        {
            using var client = new HttpClient { Timeout = Timeout };
            using var response = await client.GetAsync(new Uri(address)).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await stderr.WriteLineAsync($"{address}: answered {(int)response.StatusCode} {response.ReasonPhrase}; is it a PipeBalancer admin API?").ConfigureAwait(false);
                return (null, Cli.ExitCodes.Failure);
            }
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"{address}: cannot read it: {e.Message}").ConfigureAwait(false);
            return (null, Cli.ExitCodes.Failure);
        }
        catch (TaskCanceledException)
        {
            await stderr.WriteLineAsync($"{address}: no answer within {Timeout.TotalSeconds:0} s").ConfigureAwait(false);
            return (null, Cli.ExitCodes.Failure);
        }

        string? text = RoutingPart(body);
        if (text is null)
        {
            await stderr.WriteLineAsync($"{address}: the answer is not a configuration with routing and backends").ConfigureAwait(false);
            return (null, Cli.ExitCodes.BadConfig);
        }

        var result = ConfigLoader.Parse(text);
        foreach (var error in result.Errors)
        {
            await stderr.WriteLineAsync($"{address}: {error}").ConfigureAwait(false);
        }

        return (result.Config, result.IsValid ? Cli.ExitCodes.Ok : Cli.ExitCodes.BadConfig);
    }

    // routing, backends and health from the answer, under a placeholder listener.
    private static string? RoutingPart(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("routing", out _) || !root.TryGetProperty("backends", out _))
            {
                return null;
            }

            var buffer = new ArrayBufferWriter<byte>(body.Length);
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteStartArray("listeners");
                json.WriteStartObject();
                json.WriteString("name", "route");
                json.WriteString("address", "127.0.0.1:0");
                json.WriteEndObject();
                json.WriteEndArray();
                foreach (string section in (string[])["routing", "backends", "health"])
                {
                    if (root.TryGetProperty(section, out var value))
                    {
                        json.WritePropertyName(section);
                        value.WriteTo(json);
                    }
                }

                json.WriteEndObject();
            }

            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
