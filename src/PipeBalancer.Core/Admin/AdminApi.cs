using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using PipeBalancer.Cluster;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Admin;

/// <summary>
/// The admin API's routes. Reads: <c>/healthz</c>, <c>/readyz</c>, <c>/api/stats</c>,
/// <c>/api/servers</c>, <c>/api/servers/{id}</c> and the dashboard at <c>/</c>. Changes:
/// add, remove, weight, drain and undrain, each applied through one snapshot swap and, when
/// <c>admin.token</c> is set, only with <c>Authorization: Bearer</c> and that token. Handlers
/// are plain request delegates: nothing is bound by reflection (Native AOT).
/// </summary>
internal sealed partial class AdminApi(ProxyState state, AdminConfig config, string version, Func<Task<ConfigResult>>? reload, ILogger logger)
{
    private const int MaxBodyBytes = 64 * 1024;
    private static readonly Lazy<byte[]> Dashboard = new(LoadDashboard);
    private readonly byte[]? _tokenHash = config.Token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(config.Token));

    public void Map(IEndpointRouteBuilder routes)
    {
        string[] getOrHead = ["GET", "HEAD"];
        routes.MapGet("/", DashboardAsync);
        routes.MapMethods("/healthz", getOrHead, context => TextAsync(context, 200, "ok\n"));
        routes.MapMethods("/readyz", getOrHead, ReadyAsync);
        routes.MapGet("/api/stats", context => JsonAsync(context, 200, json => StatsJson.WriteStats(json, state, version)));
        routes.MapGet("/api/servers", context => JsonAsync(context, 200, json => StatsJson.WriteServers(json, state.Current.Backends)));
        routes.MapGet("/api/servers/{id}", GetServerAsync);
        routes.MapPost("/api/servers", AddServerAsync);
        routes.MapDelete("/api/servers/{id}", RemoveServerAsync);
        routes.MapPut("/api/servers/{id}/weight", SetWeightAsync);
        routes.MapPost("/api/servers/{id}/drain", context => SetDrainAsync(context, drain: true));
        routes.MapPost("/api/servers/{id}/undrain", context => SetDrainAsync(context, drain: false));
        routes.MapPost("/api/reload", ReloadAsync);
        routes.MapGet("/api/cluster", ClusterAsync);
        routes.MapGet("/api/config", context => JsonAsync(context, 200, json => ConfigWriter.Write(state.Current.Config, json, redactSecrets: true)));
    }

    private async Task ReloadAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (reload is null)
        {
            await Problem.WriteAsync(context, 409, "Conflict", "the balancer was not started from a config file; there is nothing to reload").ConfigureAwait(false);
            return;
        }

        var result = await reload().ConfigureAwait(false);
        if (!result.IsValid)
        {
            await Problem.WriteAsync(context, 400, "Reload refused", "the configuration file was not applied; the running configuration is kept", result.Errors).ConfigureAwait(false);
            return;
        }

        await JsonAsync(context, 200, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("generation", state.Current.Generation);
            json.WriteNumber("backends", state.Current.Config.Backends.Count);
            json.WriteNumber("listeners", state.Current.Config.Listeners.Count);
            json.WriteStartArray("warnings");
            foreach (var warning in result.Warnings)
            {
                json.WriteStringValue(warning.ToString());
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Answers a path no route matched.</summary>
    public static Task NotFoundAsync(HttpContext context) =>
        Problem.WriteAsync(context, 404, "Not Found", $"no admin endpoint at {context.Request.Path}; see docs/admin.md");

    private static Task TextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }

    private static async Task JsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(json);
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task DashboardAsync(HttpContext context)
    {
        var page = Dashboard.Value;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.ContentLength = page.Length;
        await context.Response.Body.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static byte[] LoadDashboard()
    {
        using var stream = typeof(AdminApi).Assembly.GetManifestResourceStream("PipeBalancer.Admin.dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is not embedded in the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private Task ReadyAsync(HttpContext context)
    {
        if (StatsJson.IsReady(state))
        {
            return TextAsync(context, 200, "ready\n");
        }

        string reason = !state.Listening ? "not ready: listeners not bound\n"
            : state.LocalLimits.Recent ? "not ready: out of file descriptors or local ports (accepts or connects failed in the last 5 s)\n"
            : "not ready: no eligible backend\n";
        return TextAsync(context, 503, reason);
    }

    private Task GetServerAsync(HttpContext context)
    {
        string id = RouteId(context);
        var set = state.Current.Backends;
        var backend = set.Find(id);
        if (backend is null)
        {
            return UnknownServerAsync(context, id);
        }

        double share = set.Router.KeySpaceShares()[set.IndexOf(backend)];
        return JsonAsync(context, 200, json => StatsJson.WriteBackend(json, backend, share));
    }

    private async Task AddServerAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        string? body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        string? id = null;
        if (await EditAsync(context, "add", current =>
        {
            var added = ConfigLoader.AddBackend(current, body);
            id = added.Config?.Backends[^1].Id;
            return added;
        }).ConfigureAwait(false) is not var (result, applied))
        {
            return;
        }

        if (!result.IsValid)
        {
            await Problem.WriteAsync(context, 400, "Invalid server", "the server was not added; every error is listed with its JSON path", result.Errors).ConfigureAwait(false);
            return;
        }

        LogChange(id, "added");
        context.Response.Headers.Location = "/api/servers/" + id;
        await WriteServerAsync(context, 201, applied, id!).ConfigureAwait(false);
    }

    private async Task RemoveServerAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        string id = RouteId(context);
        bool found = false;
        if (await EditAsync(context, $"remove {id}", current =>
        {
            found = current.Backends.Any(b => b.Id == id);
            if (!found)
            {
                return new ConfigResult(null, [new ConfigError("id", $"no server '{id}'")], []);
            }

            if (Discovered(current, id) is { } refused)
            {
                return refused;
            }

            if (current.Backends.Count == 1)
            {
                return new ConfigResult(null, [new ConfigError("backends", "the last server cannot be removed; add another first")], []);
            }

            return new ConfigResult(current with { Backends = current.Backends.Where(b => b.Id != id).ToList() }, [], []);
        }).ConfigureAwait(false) is not var (result, _))
        {
            return;
        }

        if (!found)
        {
            await UnknownServerAsync(context, id).ConfigureAwait(false);
        }
        else if (!result.IsValid)
        {
            await Problem.WriteAsync(context, 409, "Conflict", result.Errors[0].Reason, result.Errors).ConfigureAwait(false);
        }
        else
        {
            LogChange(id, "removed");
            context.Response.StatusCode = 204;
        }
    }

    private async Task SetWeightAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        string id = RouteId(context);
        if (!state.Current.Config.Backends.Any(b => b.Id == id))
        {
            // Said before the body is read: a server that is not there is the answer, whatever
            // was sent (the edit below checks again, in case it goes meanwhile).
            await UnknownServerAsync(context, id).ConfigureAwait(false);
            return;
        }

        string? body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        bool found = false;
        if (await EditAsync(context, $"weight of {id}", current =>
        {
            found = current.Backends.Any(b => b.Id == id);
            return !found ? new ConfigResult(null, [], []) : Discovered(current, id) ?? ConfigLoader.SetWeight(current, id, body);
        }).ConfigureAwait(false) is not var (result, applied))
        {
            return;
        }

        if (!found)
        {
            await UnknownServerAsync(context, id).ConfigureAwait(false);
        }
        else if (!result.IsValid)
        {
            await Problem.WriteAsync(context, 400, "Invalid weight", "the weight was not changed", result.Errors).ConfigureAwait(false);
        }
        else
        {
            LogChange(id, "weight changed");
            await WriteServerAsync(context, 200, applied, id).ConfigureAwait(false);
        }
    }

    private async Task SetDrainAsync(HttpContext context, bool drain)
    {
        if (!await AuthorizedAsync(context).ConfigureAwait(false))
        {
            return;
        }

        string id = RouteId(context);
        bool found = false;
        if (await EditAsync(context, (drain ? "drain " : "undrain ") + id, current =>
        {
            found = current.Backends.Any(b => b.Id == id);
            return found
                ? new ConfigResult(current with { Backends = current.Backends.Select(b => b.Id == id ? b with { Drain = drain } : b).ToList() }, [], [])
                : new ConfigResult(null, [], []);
        }).ConfigureAwait(false) is not var (_, applied))
        {
            return;
        }

        if (!found)
        {
            await UnknownServerAsync(context, id).ConfigureAwait(false);
            return;
        }

        LogChange(id, drain ? "draining" : "undrained");
        await WriteServerAsync(context, 200, applied, id).ConfigureAwait(false);
    }

    // A backend found through DNS is what its records say: it goes with its record, and its
    // weight is the record's. Draining it is allowed (and kept while DNS still gives it).
    private static ConfigResult? Discovered(BalancerConfig current, string id) =>
        current.Backends.First(b => b.Id == id).Group is { } group
            ? new ConfigResult(null, [new ConfigError("id", $"server '{id}' was found through DNS (discovery group '{group}'): change its DNS records instead, or drain it")], [])
            : null;

    // Without a cluster section an edit is applied here alone. With one it is committed in etcd
    // first; when etcd cannot be reached the answer is 503 and null comes back (answered).
    private async Task<ClusterEdit?> EditAsync(HttpContext context, string change, Func<BalancerConfig, ConfigResult> edit)
    {
        if (state.Cluster is not { } cluster)
        {
            var result = state.Edit(edit, out var applied);
            return new ClusterEdit(result, applied);
        }

        try
        {
            return await cluster.EditAsync(edit, change, context.RequestAborted).ConfigureAwait(false);
        }
        catch (EtcdUnavailableException e)
        {
            context.Response.Headers.RetryAfter = "1";
            await Problem.WriteAsync(context, 503, "Service Unavailable", "the change was not made: " + e.Message).ConfigureAwait(false);
            return null;
        }
    }

    private Task ClusterAsync(HttpContext context) => state.Cluster is { } cluster
        ? JsonAsync(context, 200, json => ClusterJson.WriteCluster(json, cluster, DateTimeOffset.UtcNow))
        : Problem.WriteAsync(context, 404, "Not Found", "this balancer has no cluster section in lb.json: its backends and their changes are its own (see docs/scale-out.md)");

    private void LogChange(string? id, string change)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            long generation = state.Current.Generation;
            Changed(logger, id ?? "?", change, generation);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Admin API: server {ServerId} {Change} (configuration generation {Generation})")]
    private static partial void Changed(ILogger logger, string serverId, string change, long generation);

    // The server as the change left it, from the snapshot the change applied: a removal
    // applied meanwhile by another call does not undo the answer (it has its own).
    private static Task WriteServerAsync(HttpContext context, int status, ProxySnapshot applied, string id)
    {
        var set = applied.Backends;
        var backend = set.Find(id) ?? throw new InvalidOperationException($"server '{id}' is not in the snapshot its change applied");
        int index = set.IndexOf(backend);
        double share = set.Router.KeySpaceShares()[index];
        var entry = applied.Config.Backends[index];
        return JsonAsync(context, status, json => StatsJson.WriteBackend(json, backend, share, entry));
    }

    private static Task UnknownServerAsync(HttpContext context, string id) =>
        Problem.WriteAsync(context, 404, "Not Found", $"no server '{id}'");

    private static string RouteId(HttpContext context) => (string)context.Request.RouteValues["id"]!;

    private async Task<bool> AuthorizedAsync(HttpContext context)
    {
        // A browser sends Origin with every cross-site POST, PUT and DELETE, including the
        // "simple" ones CORS never preflights: a page elsewhere must not change the balancer,
        // token or not. Tools (curl, scripts) send no Origin.
        string? origin = context.Request.Headers.Origin;
        if (origin is not null && !SameOrigin(context, origin) && !config.CorsOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            await Problem.WriteAsync(context, 403, "Forbidden", $"changes from the web origin '{origin}' are refused; list it in admin.corsOrigins to allow it").ConfigureAwait(false);
            return false;
        }

        if (_tokenHash is null)
        {
            return true;
        }

        string header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            // Hashing both sides first makes the comparison's time independent of the length too.
            var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
            if (CryptographicOperations.FixedTimeEquals(presented, _tokenHash))
            {
                return true;
            }
        }

        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"pipebalancer-admin\"";
        await Problem.WriteAsync(context, 401, "Unauthorized", "this call changes the balancer and needs 'Authorization: Bearer <admin.token>'").ConfigureAwait(false);
        return false;
    }

    private static bool SameOrigin(HttpContext context, string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) &&
        string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(uri.Scheme, context.Request.Scheme, StringComparison.OrdinalIgnoreCase);

    private static async Task<string?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await Problem.WriteAsync(context, 413, "Content Too Large", $"the body may be at most {MaxBodyBytes} bytes").ConfigureAwait(false);
            return null;
        }

        try
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            if (text.Length > MaxBodyBytes)
            {
                await Problem.WriteAsync(context, 413, "Content Too Large", $"the body may be at most {MaxBodyBytes} bytes").ConfigureAwait(false);
                return null;
            }

            return text;
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            await Problem.WriteAsync(context, e.StatusCode, "Bad Request", e.Message).ConfigureAwait(false);
            return null;
        }
    }
}
