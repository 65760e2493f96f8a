using System.Diagnostics;
using System.Text.Json;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Http1;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Routing;
using PipeBalancer.Runtime;

namespace PipeBalancer.Admin;

/// <summary>
/// The JSON the admin API answers with, written with <see cref="Utf8JsonWriter"/>: no
/// reflection, so it is safe for Native AOT. Field by field in docs/admin.md.
/// </summary>
internal static class StatsJson
{
    /// <summary>GET /api/stats.</summary>
    public static void WriteStats(Utf8JsonWriter json, ProxyState state, string version)
    {
        var snapshot = state.Current;
        var set = snapshot.Backends;
        var retired = state.Retired;
        var counters = state.Counters;
        var folded = state.RetiredTotals;
        var everyBackend = set.Backends.Concat(retired).ToArray();
        json.WriteStartObject();
        json.WriteString("version", version);
        json.WriteNumber("uptimeSeconds", Math.Round(Stopwatch.GetElapsedTime(state.StartedAt).TotalSeconds, 3));
        json.WriteNumber("generation", snapshot.Generation);
        json.WriteBoolean("runtimeChanges", snapshot.ChangedAtRuntime);
        json.WriteBoolean("ready", IsReady(state));
        if (state.Cluster is { } cluster)
        {
            json.WriteStartObject("cluster");
            Cluster.ClusterJson.WriteStatus(json, cluster, DateTimeOffset.UtcNow);
            json.WriteEndObject();
        }

        var routing = snapshot.Config.Routing;
        json.WriteStartObject("routing");
        json.WriteString("algorithm", RoutingNames.Of(routing.Algorithm));
        json.WriteString("hash", RoutingNames.Of(routing.Hash));
        json.WriteString("key", routing.Key.ToString());
        json.WriteNumber("virtualNodes", routing.VirtualNodes);
        json.WriteNumber("points", set.Router.Size);
        json.WriteBoolean("panic", set.InPanic);
        json.WriteEndObject();

        json.WriteStartObject("totals");
        json.WriteNumber("requests", counters.Requests);
        json.WriteNumber("inFlight", set.Backends.Sum(b => b.InFlight));
        json.WriteNumber("openConnections", counters.OpenConnections);
        json.WriteNumber("retries", counters.Retries);
        json.WriteNumber("bytesIn", everyBackend.Sum(b => b.Stats.BytesReceived) + folded.BytesReceived);
        json.WriteNumber("bytesOut", everyBackend.Sum(b => b.Stats.BytesSent) + folded.BytesSent);
        json.WriteStartObject("responses");
        for (int c = 0; c < StatusClasses.Count; c++)
        {
            json.WriteNumber(StatusClasses.Names[c], everyBackend.Sum(b => b.Stats.Responses(c)) + folded.Responses(c) + counters.OwnResponses(c));
        }

        json.WriteEndObject();
        json.WriteStartObject("clientErrors");
        foreach (var reason in Enum.GetValues<RejectReason>())
        {
            if (reason != RejectReason.None)
            {
                json.WriteNumber(Names.Of(reason), counters.Rejections(reason));
            }
        }

        json.WriteEndObject();
        json.WriteStartObject("backendErrors");
        foreach (var kind in Enum.GetValues<BackendErrorKind>())
        {
            json.WriteNumber(Names.Of(kind), everyBackend.Sum(b => b.Stats.Errors(kind)) + folded.Errors(kind));
        }

        json.WriteNumber("unavailable", counters.NoBackend);
        json.WriteEndObject();
        json.WriteStartObject("proxyProtocol");
        json.WriteNumber("accepted", counters.ProxyHeaders);
        foreach (var error in ProxyHeaderErrors.All)
        {
            json.WriteNumber(ProxyHeaderErrors.Name(error), counters.ProxyHeaderRefusals(error));
        }

        json.WriteEndObject();
        json.WriteEndObject();

        json.WriteStartArray("backends");
        var shares = set.Router.KeySpaceShares();
        for (int i = 0; i < set.Backends.Count; i++)
        {
            WriteBackend(json, set[i], shares[i]);
        }

        json.WriteEndArray();
        if (snapshot.Config.Discovery.Count > 0)
        {
            Discovery.DiscoveryJson.Write(json, state.Discovery, DateTimeOffset.UtcNow);
        }

        WriteRateLimits(json, snapshot.RateLimits);

        json.WriteStartObject("process");
        json.WriteNumber("workingSetBytes", Environment.WorkingSet);
        json.WriteNumber("allocatedBytes", GC.GetTotalAllocatedBytes(precise: false));
        json.WriteNumber("gen0Collections", GC.CollectionCount(0));
        json.WriteNumber("gen1Collections", GC.CollectionCount(1));
        json.WriteNumber("gen2Collections", GC.CollectionCount(2));
        json.WriteNumber("processorCount", Environment.ProcessorCount);
        if (state.AccessLog is { } accessLog)
        {
            json.WriteNumber("accessLogDropped", accessLog.Dropped);
        }

        json.WriteBoolean("inlineSocketCompletions", Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1");
        json.WriteString("socketEngineThreads", Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT") ?? "runtime default");
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>GET /api/servers: the backends in force.</summary>
    public static void WriteServers(Utf8JsonWriter json, BackendSet set)
    {
        var shares = set.Router.KeySpaceShares();
        json.WriteStartArray();
        for (int i = 0; i < set.Backends.Count; i++)
        {
            WriteBackend(json, set[i], shares[i]);
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// One backend, as in <c>backends[]</c> of the stats. <paramref name="asApplied"/>, when
    /// given, is its entry in the snapshot a change applied: the answer to that change shows
    /// the weight and drain flag it set, even if a later change has replaced them (or removed
    /// the backend, which drains it); counters and state are read now.
    /// </summary>
    public static void WriteBackend(Utf8JsonWriter json, Backend backend, double keySpaceShare, BackendConfig? asApplied = null)
    {
        var stats = backend.Stats;
        var entry = asApplied ?? backend.Config;
        json.WriteStartObject();
        json.WriteString("id", entry.Id);
        json.WriteString("address", entry.Address.Text);
        if (entry.Group is { } group)
        {
            json.WriteString("group", group);
        }

        json.WriteNumber("weight", entry.Weight);
        json.WriteBoolean("runtime", backend.ChangedAtRuntime);
        json.WriteBoolean("draining", asApplied?.Drain ?? backend.Draining);
        json.WriteBoolean("eligible", backend.Eligible);
        json.WriteString("health", Names.Of(backend.Health));
        json.WriteString("circuit", Names.Of(backend.Circuit.State));
        json.WriteNumber("requests", backend.Requests);
        json.WriteNumber("inFlight", backend.InFlight);
        json.WriteNumber("errors", backend.Failures);
        json.WriteStartObject("errorsByKind");
        foreach (var kind in Enum.GetValues<BackendErrorKind>())
        {
            json.WriteNumber(Names.Of(kind), stats.Errors(kind));
        }

        json.WriteEndObject();
        json.WriteStartObject("responses");
        for (int c = 0; c < StatusClasses.Count; c++)
        {
            json.WriteNumber(StatusClasses.Names[c], stats.Responses(c));
        }

        json.WriteEndObject();
        json.WriteNumber("bytesIn", stats.BytesReceived);
        json.WriteNumber("bytesOut", stats.BytesSent);
        var latency = stats.Latency.Summarize(Stopwatch.GetTimestamp());
        json.WriteStartObject("latencyMs");
        WriteNullable(json, "p50", latency.P50);
        WriteNullable(json, "p90", latency.P90);
        WriteNullable(json, "p99", latency.P99);
        json.WriteNumber("windowSeconds", LatencyWindow.WindowSeconds);
        json.WriteNumber("samples", latency.Samples);
        json.WriteEndObject();
        json.WriteStartObject("healthChecks");
        json.WriteNumber("count", stats.Checks);
        json.WriteNumber("failed", stats.FailedChecks);
        if (backend.LastCheck is { } last && backend.LastCheckResult is { } result)
        {
            json.WriteString("last", last);
            json.WriteBoolean("lastPassed", result.Passed);
            json.WriteString("lastOutcome", Names.Of(result.Outcome));
            if (result.Status is { } status)
            {
                json.WriteNumber("lastStatus", status);
            }
            else
            {
                json.WriteNull("lastStatus");
            }

            json.WriteString("lastReason", result.Reason);
            if (backend.LastOutcomeSince is { } since)
            {
                json.WriteString("outcomeSince", since);
            }
            else
            {
                json.WriteNull("outcomeSince");
            }
        }
        else
        {
            json.WriteNull("last");
            json.WriteNull("lastPassed");
            json.WriteNull("lastOutcome");
            json.WriteNull("lastStatus");
            json.WriteNull("lastReason");
            json.WriteNull("outcomeSince");
        }

        json.WriteEndObject();
        int idle = backend.Pool.IdleCount;
        json.WriteStartObject("pool");
        json.WriteNumber("idle", idle);
        json.WriteNumber("active", Math.Max(0, stats.OpenConnections - idle));
        json.WriteEndObject();
        json.WriteNumber("keySpaceShare", Math.Round(keySpaceShare, 6));
        json.WriteNumber("slowStartShare", backend.Share);
        json.WriteEndObject();
    }

    /// <summary>Listeners bound, a backend routing may choose, and no recent failure on a local limit (descriptors).</summary>
    public static bool IsReady(ProxyState state)
    {
        // What routing itself asks: draining, open circuits and panic mode all count.
        var set = state.Current.Backends;
        return state.Listening && !state.LocalLimits.Recent && Enumerable.Range(0, set.Backends.Count).Any(set.IsEligible);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, Math.Round(v, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    // Each limiter in force: what it counts by, where, and its counters since it was created
    // (a reload that leaves it unchanged keeps them).
    private static void WriteRateLimits(Utf8JsonWriter json, RateLimiting.RateLimiterSet limits)
    {
        json.WriteStartArray("rateLimits");
        foreach (var limiter in limits.All)
        {
            json.WriteStartObject();
            json.WriteString("name", limiter.Config.Name);
            json.WriteString("key", limiter.Config.Key.ToString());
            json.WriteStartArray("listeners");
            foreach (string listener in limiter.Config.Listeners)
            {
                json.WriteStringValue(listener);
            }

            json.WriteEndArray();
            json.WriteNumber("allowed", limiter.Allowed);
            json.WriteNumber("limited", limiter.Limited);
            json.WriteNumber("entries", limiter.Table.Entries);
            json.WriteNumber("capacity", limiter.Table.Capacity);
            json.WriteNumber("evictions", limiter.Table.Evictions);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}

/// <summary>The names states and kinds have in the admin API and in metric labels.</summary>
internal static class Names
{
    public static string Of(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Unhealthy => "unhealthy",
        _ => "unknown",
    };

    public static string Of(CircuitState state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        _ => "closed",
    };

    public static string Of(HealthCheckOutcome outcome) => outcome switch
    {
        HealthCheckOutcome.Passed => "passed",
        HealthCheckOutcome.Status => "status",
        HealthCheckOutcome.Connect => "connect",
        HealthCheckOutcome.Timeout => "timeout",
        HealthCheckOutcome.Body => "body",
        _ => "response",
    };

    public static string Of(BackendErrorKind kind) => kind switch
    {
        BackendErrorKind.Connect => "connect",
        BackendErrorKind.Timeout => "timeout",
        BackendErrorKind.Reset => "reset",
        BackendErrorKind.BadResponse => "badResponse",
        _ => "status5xx",
    };

    // camelCase of the enum name: "InvalidTarget" is "invalidTarget".
    public static string Of(RejectReason reason)
    {
        string name = reason.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }
}
