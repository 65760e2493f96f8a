using System.Text.Json;

namespace PipeBalancer.Discovery;

/// <summary>The <c>discovery</c> array of GET /api/stats: each group's lookup, status, set size and age.</summary>
internal static class DiscoveryJson
{
    /// <summary>Writes the array, one object per group in the order of <paramref name="groups"/>'s names.</summary>
    public static void Write(Utf8JsonWriter json, DiscoveryService discovery, DateTimeOffset now)
    {
        json.WriteStartArray("discovery");
        foreach (var group in discovery.Groups.OrderBy(g => g.Config.Group, StringComparer.Ordinal))
        {
            group.Read(state =>
            {
                json.WriteStartObject();
                json.WriteString("group", group.Config.Group);
                json.WriteString("lookup", group.Lookup);
                json.WriteString("status", state.Status.ToString().ToLowerInvariant());
                json.WriteNumber("targets", state.Targets.Count);
                WriteSeconds(json, "ageSeconds", state.Age(now));
                json.WriteString("failure", FailureNames.Of(state.Failure));
                if (state.FailureDetail is { } detail)
                {
                    json.WriteString("failureDetail", detail);
                }

                WriteSeconds(json, "failingForSeconds", state.FailingSince is { } since ? now - since : null);
                json.WriteNumber("lookups", state.Lookups);
                json.WriteNumber("failedLookups", state.Failures);
                json.WriteEndObject();
                return 0;
            });
        }

        json.WriteEndArray();
    }

    private static void WriteSeconds(Utf8JsonWriter json, string name, TimeSpan? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, Math.Round(v.TotalSeconds, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
