using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Admin;

/// <summary>
/// The admin side app's endpoints, served on <c>admin.address</c>, never on a proxy listener:
/// <c>/healthz</c> (the process is alive), <c>/readyz</c> (a backend is eligible) and
/// <c>/api/stats</c> (totals and per-backend counters as JSON). JSON is written with
/// <see cref="Utf8JsonWriter"/>: no reflection, safe for Native AOT.
/// </summary>
public static class AdminEndpoints
{
    private static readonly long StartedAt = Stopwatch.GetTimestamp();

    /// <summary>Answers one admin request.</summary>
    public static Task HandleAsync(HttpContext context, ProxyState state, string version)
    {
        var response = context.Response;
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                return Text(response, 200, "ok\n");
            case "/readyz":
                bool ready = state.Current.Backends.EligibleCount > 0;
                return Text(response, ready ? 200 : 503, ready ? "ready\n" : "no eligible backend\n");
            case "/api/stats":
                return StatsAsync(response, state, version);
            default:
                return Text(response, 404, "not found: /healthz, /readyz, /api/stats\n");
        }
    }

    private static Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text);
    }

    private static async Task StatsAsync(HttpResponse response, ProxyState state, string version)
    {
        response.ContentType = "application/json";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var snapshot = state.Current;
            var counters = state.Counters;
            json.WriteStartObject();
            json.WriteString("version", version);
            json.WriteNumber("uptimeSeconds", Math.Round(Stopwatch.GetElapsedTime(StartedAt).TotalSeconds, 3));
            json.WriteStartObject("totals");
            json.WriteNumber("requests", counters.Requests);
            json.WriteNumber("rejected", counters.Rejected);
            json.WriteNumber("backendErrors", counters.BackendErrors);
            json.WriteNumber("retries", counters.Retries);
            json.WriteNumber("openConnections", counters.OpenConnections);
            json.WriteEndObject();
            json.WriteStartObject("process");
            json.WriteNumber("allocatedBytes", GC.GetTotalAllocatedBytes(precise: false));
            json.WriteNumber("gen0Collections", GC.CollectionCount(0));
            json.WriteNumber("gen1Collections", GC.CollectionCount(1));
            json.WriteNumber("gen2Collections", GC.CollectionCount(2));
            json.WriteNumber("workingSetBytes", Environment.WorkingSet);
            json.WriteBoolean("inlineSocketCompletions", Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1");
            json.WriteString("socketEngineThreads", Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT") ?? "runtime default");
            json.WriteNumber("processorCount", Environment.ProcessorCount);
            json.WriteEndObject();
            var keySpace = snapshot.Backends.Router.KeySpaceShares();
            json.WriteStartArray("backends");
            int index = 0;
            foreach (var backend in snapshot.Backends.Backends)
            {
                json.WriteStartObject();
                json.WriteNumber("keySpaceShare", Math.Round(keySpace[index], 6));
                json.WriteNumber("slowStartShare", snapshot.Backends.Shares[index]);
                index++;
                json.WriteString("id", backend.Config.Id);
                json.WriteString("address", backend.Config.Address.Text);
                json.WriteNumber("weight", backend.Config.Weight);
                json.WriteBoolean("eligible", backend.Eligible);
                json.WriteBoolean("draining", backend.Draining);
                json.WriteString("health", backend.Health switch
                {
                    Backends.HealthStatus.Healthy => "healthy",
                    Backends.HealthStatus.Unhealthy => "unhealthy",
                    _ => "unknown",
                });
                json.WriteString("circuit", backend.Circuit.State switch
                {
                    Backends.CircuitState.Open => "open",
                    Backends.CircuitState.HalfOpen => "half-open",
                    _ => "closed",
                });
                if (backend.LastCheck is { } lastCheck)
                {
                    json.WriteString("lastCheck", lastCheck);
                    json.WriteBoolean("lastCheckPassed", backend.LastCheckPassed);
                }
                json.WriteNumber("requests", backend.Requests);
                json.WriteNumber("inFlight", backend.InFlight);
                json.WriteNumber("failures", backend.Failures);
                json.WriteNumber("idleConnections", backend.Pool.IdleCount);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
    }
}
