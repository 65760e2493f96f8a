using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>
/// The balancer's HTTP and TCP handlers with every connection in memory: clients are pipes
/// handed to the handler, and each backend connection is a pair of pipes whose far end a test
/// script plays. Log lines are kept for assertions.
/// </summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    private readonly ConcurrentQueue<Task> _scripts = new();

    public ProxyHarness(int backends, Func<IDuplexPipe, Task> backend, Func<BalancerConfig, BalancerConfig>? configure = null, AccessLog? accessLog = null)
        : this(backends, (_, pipe) => backend(pipe), configure, accessLog)
    {
    }

    public ProxyHarness(int backends, Func<Backend, IDuplexPipe, Task> backend, Func<BalancerConfig, BalancerConfig>? configure = null, AccessLog? accessLog = null)
    {
        var config = new BalancerConfig(
            [new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            TestBackends.Make(backends))
        {
            Health = HealthConfig.Default with { Enabled = false },
        };
        config = configure?.Invoke(config) ?? config;
        Logs = new ListLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        State = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, loggerFactory) { AccessLog = accessLog };
        State.Connect = (b, _) =>
        {
            Interlocked.Increment(ref _connects);
            var connection = new InMemoryConnection();
            _scripts.Enqueue(Task.Run(() => backend(b, connection.PeerSide)));
            return ValueTask.FromResult(BackendConnection.Over(connection.ProxySide, b.Stats));
        };
    }

    private int _connects;

    public ProxyState State { get; }

    public ListLoggerProvider Logs { get; }

    /// <summary>Backend connections opened so far.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>Opens a client connection to the HTTP handler; returns the client's end and the handler's task.</summary>
    public (IDuplexPipe Client, Task Handler, TestConnectionContext Context) ConnectHttp()
    {
        var connection = new InMemoryConnection();
        var context = new TestConnectionContext(connection.ProxySide);
        var handler = Task.Run(() => new HttpProxyHandler(State, State.Current.Config.Listeners[0]).OnConnectedAsync(context));
        return (connection.PeerSide, handler, context);
    }

    /// <summary>Opens a client connection to the TCP handler.</summary>
    public (IDuplexPipe Client, Task Handler) ConnectTcp()
    {
        var connection = new InMemoryConnection();
        var context = new TestConnectionContext(connection.ProxySide);
        var handler = Task.Run(() => new TcpProxyHandler(State, State.Current.Config.Listeners[0]).OnConnectedAsync(context));
        return (connection.PeerSide, handler);
    }

    public async ValueTask DisposeAsync()
    {
        await State.DisposeAsync();
        foreach (var script in _scripts)
        {
            try
            {
                await script.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // A script that ended on a closed pipe or never got its end: nothing to report.
            }
        }
    }
}
