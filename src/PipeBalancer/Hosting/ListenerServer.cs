using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// One <c>listeners[]</c> entry: a Kestrel server of its own whose only endpoint runs the proxy
/// connection handler (behind TLS when the listener has <c>tls</c>). One server per listener
/// lets a reload start and stop listeners without touching the others.
/// </summary>
internal sealed class ListenerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Func<ListenOptions?> _options;

    private ListenerServer(ListenerConfig config, WebApplication app, Func<ListenOptions?> options, CertificateSource? certificate)
    {
        Config = config;
        _app = app;
        _options = options;
        Certificate = certificate;
    }

    /// <summary>The entry it serves.</summary>
    public ListenerConfig Config { get; }

    /// <summary>The TLS certificate, or null for plain TCP.</summary>
    public CertificateSource? Certificate { get; }

    /// <summary>Where it is bound (the real port when the entry said 0).</summary>
    public IPEndPoint EndPoint => _options()?.IPEndPoint ?? throw new InvalidOperationException($"listener {Config.Name} is not bound");

    /// <summary>Builds the server; nothing listens until <see cref="StartAsync"/>. Null with the reason when its certificate cannot be loaded.</summary>
    public static ListenerServer? Create(ListenerConfig config, ProxyState state, ILoggerFactory loggerFactory, out string? error)
    {
        CertificateSource? certificate = null;
        if (config.Tls is { } tls)
        {
            certificate = CertificateSource.TryLoad(tls, out error);
            if (certificate is null)
            {
                error = $"listeners '{config.Name}': {error}";
                return null;
            }
        }

        error = null;
        var builder = WebApplication.CreateSlimBuilder(EmbeddedAppOptions.Create());
        ProcessLifetime.Share(builder.Services, loggerFactory);

        // Kestrel's socket connections behind an accept loop that backs off when out of
        // descriptors; client pipes take 16 KB blocks from the pool backend pipes use (fewer,
        // larger reads), given to the connections that loop makes and to anything else in
        // Kestrel that asks the services for a memory pool.
        // A listener with no PROXY header to read takes the bare accepted sockets instead when
        // it is a plain tcp listener (its handler relays socket to socket without pipes) or has
        // TLS (an SslStream reads and writes the socket itself: TlsTermination). A PROXY header
        // is read from Kestrel's pipes, and TLS then runs over them (Kestrel's UseHttps).
        bool tlsOnSocket = certificate is not null && config.ProxyProtocol is null;
        bool bare = tlsOnSocket || (config.Mode == ListenerMode.Tcp && config.Tls is null && config.ProxyProtocol is null);
        builder.Services.AddSingleton<IConnectionListenerFactory>(new BackoffListenerFactory(config.Name, state, loggerFactory, bare));
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(BlockMemoryPoolFactory.Instance);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(config);
        ListenOptions? bound = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            void Configure(ListenOptions options)
            {
                bound = options;
                options.Protocols = HttpProtocols.Http1;
                if (config.ProxyProtocol is { } proxy)
                {
                    // Before TLS: the header comes ahead of the handshake.
                    var trusted = TrustedNetworks.Parse(proxy.TrustedNetworks);
                    options.Use(next => new ProxyProtocolMiddleware(next, proxy.Accept, trusted, state).OnConnectionAsync);
                }

                if (certificate is not null)
                {
                    bool http = config.Mode == ListenerMode.Http;
                    var handshakeTimeout = TimeSpan.FromMilliseconds(state.Current.Config.Timeouts.HeadersMs);
                    if (tlsOnSocket)
                    {
                        options.Use(next => new TlsTermination(next, certificate, http, handshakeTimeout, state).OnConnectionAsync);
                    }
                    else
                    {
                        options.UseHttps(new TlsHandshakeCallbackOptions
                        {
                            OnConnection = _ => ValueTask.FromResult(certificate.Options(http)),
                            HandshakeTimeout = handshakeTimeout,
                        });
                    }
                }

                if (config.Mode == ListenerMode.Http)
                {
                    options.UseConnectionHandler<HttpProxyHandler>();
                }
                else
                {
                    options.UseConnectionHandler<TcpProxyHandler>();
                }
            }

            var address = config.Address;
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
        });

        return new ListenerServer(config, builder.Build(), () => bound, certificate);
    }

    /// <summary>Whether it is bound and accepting.</summary>
    public bool IsListening { get; private set; }

    /// <summary>Binds and starts accepting.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        IsListening = true;
    }

    /// <summary>
    /// Stops accepting, asks every connection to close (idle ones close at once, requests in
    /// flight finish with <c>Connection: close</c>), and after <paramref name="timeout"/> closes
    /// whatever is left.
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        IsListening = false;
        using var deadline = new CancellationTokenSource(timeout);
        await _app.StopAsync(deadline.Token).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
