using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Admin;

/// <summary>
/// The side app: a Kestrel server of its own on <c>admin.address</c>, in the balancer's
/// process but never on a proxy listener, serving the admin API, <c>/metrics</c> and the
/// dashboard. It answers only Host values that name it (<see cref="AdminHostCheck"/>), is rate
/// limited per client address (health probes excepted) and answers CORS only for
/// <c>admin.corsOrigins</c>.
/// </summary>
internal static class AdminApp
{
    /// <summary>Builds the admin app over <paramref name="state"/>; nothing listens until it is started.</summary>
    /// <param name="state">The balancer's state.</param>
    /// <param name="config">The <c>admin</c> section.</param>
    /// <param name="version">The balancer's version, shown in stats and metrics.</param>
    /// <param name="shareProcess">Gives the app the process's logger factory and lifetime.</param>
    /// <param name="reload">What <c>POST /api/reload</c> runs; null when there is no file to reload.</param>
    public static WebApplication Build(ProxyState state, AdminConfig config, string version, Action<IServiceCollection> shareProcess,
        Func<Task<ConfigResult>>? reload)
    {
        var builder = WebApplication.CreateSlimBuilder(EmbeddedAppOptions.Create());
        shareProcess(builder.Services);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            var address = config.Address;
            if (address.IPAddress is { } ip)
            {
                kestrel.Listen(ip, address.Port);
            }
            else if (address.Host == "*")
            {
                kestrel.ListenAnyIP(address.Port);
            }
            else
            {
                kestrel.ListenLocalhost(address.Port);
            }
        });

        // Created by the container so that it is disposed (and its meter with it) with the app.
        builder.Services.AddSingleton(_ => new BalancerMetrics(state, version));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("pipebalancer", serviceVersion: version, autoGenerateServiceInstanceId: false))
            .WithMetrics(m => m
            .AddMeter(BalancerMetrics.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        if (config.CorsOrigins.Count > 0)
        {
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
                .WithOrigins([.. config.CorsOrigins])
                .WithMethods("GET", "POST", "PUT", "DELETE")
                .WithHeaders("Authorization", "Content-Type")));
        }

        var app = builder.Build();
        app.Services.GetRequiredService<BalancerMetrics>();

        // First of all: a request for another host name gets nothing, not even a rate-limit answer.
        var hosts = new AdminHostCheck(config.AllowedHosts);
        app.Use(next => context => hosts.Allows(context.Request.Host, context.Connection.LocalIpAddress, context.Connection.LocalPort)
            ? next(context)
            : AdminHostCheck.RefuseAsync(context));
        if (config.CorsOrigins.Count > 0)
        {
            app.UseCors();
        }

        if (config.RateLimitPerSecond > 0)
        {
            app.Use(new AdminRateLimit(config.RateLimitPerSecond, TimeProvider.System).Wrap);
        }

        new AdminApi(state, config, version, reload, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("PipeBalancer.Admin")).Map(app);
        app.MapPrometheusScrapingEndpoint("/metrics");
        // Not a fallback route, which would also catch a known path with the wrong method:
        // routing has picked its 405 endpoint for those by now.
        app.Use(next => context => context.GetEndpoint() is null ? AdminApi.NotFoundAsync(context) : next(context));
        return app;
    }
}
