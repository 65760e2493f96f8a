using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Hosting;

/// <summary>
/// Runs the balancer in this process: one Kestrel server whose listeners use the proxy
/// connection handlers. Tests start it on port 0 and read the bound ports back.
/// </summary>
internal sealed class BalancerHost : IAsyncDisposable
{
    private const string AdminListener = "$admin";
    private readonly WebApplication _app;
    private readonly Dictionary<string, ListenOptions> _listenOptions = new(StringComparer.Ordinal);

    private BalancerHost(WebApplication app, ProxyState state)
    {
        _app = app;
        State = state;
    }

    /// <summary>Where the admin app is bound.</summary>
    public IPEndPoint AdminEndPoint => EndPoint(AdminListener);

    /// <summary>The shared proxy state (configuration, backends, routing).</summary>
    public ProxyState State { get; }

    /// <summary>Builds the host for <paramref name="config"/>; nothing listens until <see cref="StartAsync"/>.</summary>
    public static BalancerHost Create(BalancerConfig config, Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        // Continuations of socket operations run on the I/O thread instead of hopping to the
        // thread pool (measured: with inline socket completions, parity with HAProxy).
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        var listenOptions = new Dictionary<string, ListenOptions>(StringComparer.Ordinal);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            foreach (var listener in config.Listeners)
            {
                void Configure(ListenOptions options)
                {
                    listenOptions[listener.Name] = options;
                    if (listener.Mode == ListenerMode.Http)
                    {
                        options.UseConnectionHandler<HttpProxyHandler>();
                    }
                    else
                    {
                        options.UseConnectionHandler<TcpProxyHandler>();
                    }
                }

                var address = listener.Address;
                if (address.Host == "*")
                {
                    kestrel.ListenAnyIP(address.Port, Configure);
                }
                else if (address.IPAddress is { } ip)
                {
                    kestrel.Listen(ip, address.Port, Configure);
                }
                else
                {
                    kestrel.ListenLocalhost(address.Port, Configure);
                }
            }

            // The admin app shares the process but never a proxy listener.
            var admin = config.Admin.Address;
            void ConfigureAdmin(ListenOptions options) => listenOptions[AdminListener] = options;
            if (admin.IPAddress is { } adminIp)
            {
                kestrel.Listen(adminIp, admin.Port, ConfigureAdmin);
            }
            else if (admin.Host == "*")
            {
                kestrel.ListenAnyIP(admin.Port, ConfigureAdmin);
            }
            else
            {
                kestrel.ListenLocalhost(admin.Port, ConfigureAdmin);
            }
        });

        builder.Services.AddSingleton(sp => new ProxyState(
            config,
            System.Buffers.MemoryPool<byte>.Shared,
            sp.GetRequiredService<ILoggerFactory>()));
        var app = builder.Build();
        var host = new BalancerHost(app, app.Services.GetRequiredService<ProxyState>());
        app.Run(context => Admin.AdminEndpoints.HandleAsync(context, host.State, Cli.Version));
        foreach (var (name, options) in listenOptions)
        {
            host._listenOptions[name] = options;
        }

        return host;
    }

    /// <summary>
    /// Builds and starts the balancer for a command; null after telling <paramref name="stderr"/>
    /// why it cannot listen (an address in use, say).
    /// </summary>
    public static async Task<BalancerHost?> StartForCommandAsync(BalancerConfig config, string command, TextWriter stderr)
    {
        var host = Create(config);
        try
        {
            await host.StartAsync().ConfigureAwait(false);
            return host;
        }
        catch (IOException e)
        {
            await stderr.WriteLineAsync($"{command}: cannot listen: {e.Message}").ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Binds every listener and starts accepting.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        State.StartHealthChecks();
    }

    /// <summary>Stops accepting and closes connections.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Waits until the host is shut down (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Where listener <paramref name="name"/> is bound (with the real port when lb.json said 0).</summary>
    public IPEndPoint EndPoint(string name) => _listenOptions[name].IPEndPoint!;

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        await State.DisposeAsync().ConfigureAwait(false);
    }
}
