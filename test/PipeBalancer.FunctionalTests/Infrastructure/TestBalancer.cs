using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Hosting;
using PipeBalancer.Runtime;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>The balancer, in this process, with an HTTP listener on 127.0.0.1 port 0 in front of the given backend ports.</summary>
internal sealed class TestBalancer : IAsyncDisposable
{
    private readonly BalancerHost _host;

    private TestBalancer(BalancerHost host, BalancerConfig config)
    {
        _host = host;
        Config = config;
    }

    public BalancerConfig Config { get; }

    /// <summary>The host itself: reload, stop, listeners.</summary>
    internal BalancerHost Host => _host;

    public IPEndPoint EndPoint => _host.EndPoint("web");

    public Uri Url => new($"http://127.0.0.1:{EndPoint.Port}");

    public PipeBalancer.Runtime.ProxyState State => _host.State;

    /// <summary>The admin side app (stats, metrics, management, dashboard).</summary>
    public Uri AdminUrl => new($"http://127.0.0.1:{_host.AdminEndPoint.Port}");

    public HttpClient CreateAdminClient() => new() { BaseAddress = AdminUrl, Timeout = TimeSpan.FromSeconds(30) };

    public static async Task<TestBalancer> StartAsync(IEnumerable<(string Id, int Port)> backends, Func<BalancerConfig, BalancerConfig>? configure = null, ListenerMode mode = ListenerMode.Http,
        PipeBalancer.Forwarding.AccessLog? accessLog = null, Action<ILoggingBuilder>? logging = null)
    {
        var config = new BalancerConfig(
            [new ListenerConfig("web", new HostPort("127.0.0.1", 0), mode)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            backends.Select(b => new BackendConfig(b.Id, new HostPort("127.0.0.1", b.Port) { Text = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{b.Port}") }, 1)).ToArray());
        // Health checks are opted into by the tests about them: elsewhere they would add
        // connections that scripted backends do not expect.
        config = config with { Health = config.Health with { Enabled = false } };
        config = configure?.Invoke(config) ?? config;
        var host = BalancerHost.Create(config, logging ?? (l => l.SetMinimumLevel(LogLevel.Warning)), accessLog: accessLog);
        await host.StartAsync();
        return new TestBalancer(host, config);
    }

    /// <summary>Starts from an lb.json file, which the balancer then watches and reloads.</summary>
    public static async Task<TestBalancer> StartFromFileAsync(string path)
    {
        var result = ConfigLoader.LoadFile(path);
        Assert.That(result.Errors, Is.Empty, "the test's lb.json is valid");
        var host = BalancerHost.Create(result.Config!, logging => logging.SetMinimumLevel(LogLevel.Warning), path);
        await host.StartAsync();
        return new TestBalancer(host, result.Config!);
    }

    public static Task<TestBalancer> StartAsync(params TestBackend[] backends) =>
        StartAsync(backends.Select(b => (b.Id, b.Port)));

    public HttpClient CreateClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) }) { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();
}
