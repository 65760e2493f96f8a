using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
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
    private readonly WebApplication _proxy;
    private readonly WebApplication _admin;
    private readonly Dictionary<string, ListenOptions> _listenOptions;

    private BalancerHost(WebApplication proxy, WebApplication admin, ProxyState state, Dictionary<string, ListenOptions> listenOptions)
    {
        _proxy = proxy;
        _admin = admin;
        State = state;
        _listenOptions = listenOptions;
    }

    /// <summary>Where the admin app is bound.</summary>
    public IPEndPoint AdminEndPoint
    {
        get
        {
            var address = _admin.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            var uri = new Uri(address);
            return new IPEndPoint(IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip : IPAddress.Loopback, uri.Port);
        }
    }

    /// <summary>The shared proxy state (configuration, backends, routing).</summary>
    public ProxyState State { get; }

    /// <summary>Builds the host for <paramref name="config"/>; nothing listens until <see cref="StartAsync"/>.</summary>
    public static BalancerHost Create(BalancerConfig config, Action<ILoggingBuilder>? logging = null)
    {
        logging ??= DefaultLogging;
        var builder = WebApplication.CreateSlimBuilder();
        logging(builder.Logging);

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
        });

        builder.Services.AddSingleton(sp => new ProxyState(
            config,
            System.Buffers.MemoryPool<byte>.Shared,
            sp.GetRequiredService<ILoggerFactory>()));
        var proxy = builder.Build();
        var state = proxy.Services.GetRequiredService<ProxyState>();

        // The admin side app: a second Kestrel server in this process, on its own address.
        var admin = Admin.AdminApp.Build(state, config.Admin, Cli.Version, logging);
        return new BalancerHost(proxy, admin, state, listenOptions);
    }

    private static void DefaultLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
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

    /// <summary>Binds every listener and the admin app, and starts accepting.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _admin.StartAsync(cancellationToken).ConfigureAwait(false);
        await _proxy.StartAsync(cancellationToken).ConfigureAwait(false);
        State.Listening = true;
        State.StartHealthChecks();
    }

    /// <summary>Stops accepting and closes connections.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        State.Listening = false;
        await _proxy.StopAsync(cancellationToken).ConfigureAwait(false);
        await _admin.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until the host is shut down (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync() => _proxy.WaitForShutdownAsync();

    /// <summary>Where listener <paramref name="name"/> is bound (with the real port when lb.json said 0).</summary>
    public IPEndPoint EndPoint(string name) => _listenOptions[name].IPEndPoint!;

    public async ValueTask DisposeAsync()
    {
        State.Listening = false;
        await _proxy.DisposeAsync().ConfigureAwait(false);
        await _admin.DisposeAsync().ConfigureAwait(false);
        await State.DisposeAsync().ConfigureAwait(false);
    }
}
