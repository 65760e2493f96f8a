using System.Text.Json;

namespace PipeBalancer.Cluster;

/// <summary>The shared state as the admin API shows it: <c>GET /api/cluster</c> and the <c>cluster</c> object of <c>/api/stats</c>.</summary>
internal static class ClusterJson
{
    /// <summary>This instance's view: prefix, endpoint, applied revision, and whether (and since when, and why) it is stale.</summary>
    public static void WriteStatus(Utf8JsonWriter json, ClusterSync cluster, DateTimeOffset now)
    {
        json.WriteString("instance", cluster.Name);
        json.WriteString("prefix", cluster.Prefix);
        json.WriteString("endpoint", cluster.Endpoint);
        json.WriteNumber("appliedRevision", cluster.AppliedRevision);
        var since = cluster.StaleSince;
        json.WriteBoolean("stale", since is not null);
        if (since is { } stale)
        {
            json.WriteString("staleSince", stale);
            json.WriteNumber("staleSeconds", Math.Round((now - stale).TotalSeconds, 3));
            json.WriteString("staleReason", cluster.StaleReason);
        }
        else
        {
            json.WriteNull("staleSince");
        }
    }

    /// <summary><c>GET /api/cluster</c>: this instance's view and every registered instance with the revision it applied.</summary>
    public static void WriteCluster(Utf8JsonWriter json, ClusterSync cluster, DateTimeOffset now)
    {
        json.WriteStartObject();
        WriteStatus(json, cluster, now);
        var members = cluster.Members;
        json.WriteBoolean("agree", members.Select(m => m.AppliedRevision).Distinct().Count() == 1);
        json.WriteStartArray("instances");
        foreach (var member in members)
        {
            json.WriteStartObject();
            json.WriteString("name", member.Name);
            json.WriteString("admin", member.Admin);
            json.WriteNumber("appliedRevision", member.AppliedRevision);
            json.WriteBoolean("stale", member.Stale);
            json.WriteBoolean("self", member.Name == cluster.Name);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
