using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// The balancer in this process: one Kestrel server per listener, the admin side app on its
/// own address, the shared proxy state, and the process's life: SIGTERM and Ctrl+C stop it
/// gracefully, SIGHUP, a change of the config file or <c>POST /api/reload</c> reload it.
/// Tests start it on port 0 and read the bound ports back.
/// </summary>
internal sealed class BalancerHost : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly bool _ownsLoggerFactory;
    private readonly ILogger _logger;
    private readonly WebApplication _admin;
    private readonly Dictionary<string, ListenerServer> _listeners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private readonly List<Task> _background = [];
    private readonly string? _configPath;
    private readonly SystemdNotifier _systemd = new();
    private readonly List<PosixSignalRegistration> _signals = [];
    private ConfigWatcher? _watcher;
    private int _stopped;

    private BalancerHost(BalancerConfig config, ILoggerFactory loggerFactory, bool ownsLoggerFactory, string? configPath, AccessLog? accessLog)
    {
        _loggerFactory = loggerFactory;
        _ownsLoggerFactory = ownsLoggerFactory;
        _logger = loggerFactory.CreateLogger("PipeBalancer.Host");
        _configPath = configPath;
        State = new ProxyState(config, BlockMemoryPool.Shared, loggerFactory) { AccessLog = accessLog };
        if (config.Cluster is { } cluster)
        {
            State.Cluster = new Cluster.ClusterSync(State, cluster, loggerFactory.CreateLogger("PipeBalancer.Cluster"));
        }
        _admin = Admin.AdminApp.Build(State, config.Admin, Cli.Version, services => ProcessLifetime.Share(services, loggerFactory),
            configPath is null ? null : () => ReloadAsync("POST /api/reload"));
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

    /// <summary>The files of <c>--log-file</c> and <c>--access-log-file</c>, reopened on SIGUSR1.</summary>
    public LogFiles? LogFiles { get; set; }

    /// <summary>
    /// Builds the host for <paramref name="config"/>; nothing listens until <see cref="StartAsync"/>.
    /// With <paramref name="configPath"/>, the file is watched and reloads read it.
    /// </summary>
    public static BalancerHost Create(BalancerConfig config, Action<ILoggingBuilder>? logging = null, string? configPath = null, AccessLog? accessLog = null) =>
        new(config, LoggerFactory.Create(logging ?? LogSetup.Console), ownsLoggerFactory: true, configPath, accessLog);

    /// <summary>
    /// Builds and starts the balancer for a command; null after telling <paramref name="stderr"/>
    /// why it cannot (an address in use, a certificate that does not load).
    /// </summary>
    public static async Task<BalancerHost?> StartForCommandAsync(BalancerConfig config, string command, TextWriter stderr,
        Action<ILoggingBuilder>? logging = null, string? configPath = null, AccessLog? accessLog = null)
    {
        var host = Create(config, logging, configPath, accessLog);
        try
        {
            await host.StartAsync().ConfigureAwait(false);
            return host;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or CannotBindException)
        {
            await stderr.WriteLineAsync($"{command}: cannot start: {e.Message}").ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Binds the admin app and every listener, starts the health checks, and tells systemd it is ready.</summary>
    /// <exception cref="CannotBindException">The admin address or a listener's address cannot be bound (in use, not allowed).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        DataPlanePreload.Run();
        State.LocalLimits.HoldReserve();
        try
        {
            await _admin.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new CannotBindException($"admin address {State.Current.Config.Admin.Address}", e);
        }

        await AdminWarmup.RunAsync(AdminEndPoint, _logger, cancellationToken).ConfigureAwait(false);

        if (State.Cluster is { } cluster)
        {
            // Before any listener: the first request already routes on the shared backends.
            var admin = AdminEndPoint;
            string host = admin.Address.Equals(IPAddress.Any) || admin.Address.Equals(IPAddress.IPv6Any) ? Environment.MachineName : admin.ToString();
            await cluster.StartAsync(admin.Address.Equals(IPAddress.Any) || admin.Address.Equals(IPAddress.IPv6Any) ? $"http://{host}:{admin.Port}" : $"http://{host}",
                $"{Environment.MachineName}-{admin.Port}").ConfigureAwait(false);
        }

        // Backends found through DNS are in force before the first request (or the group is empty and keeps trying).
        await State.Discovery.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var listener in State.Current.Config.Listeners)
        {
            var server = ListenerServer.Create(listener, State, _loggerFactory, out string? error)
                ?? throw new InvalidOperationException(error);
            _listeners[listener.Name] = server;
            try
            {
                await server.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new CannotBindException($"listener {listener.Name} ({listener.Mode.ToString().ToLowerInvariant()}) on {listener.Address}", e);
            }

            HostLog.Listening(_logger, server);
        }

        long limit = DescriptorLimit.Read();
        long inUse = DescriptorLimit.InUse();
        long budget = State.LocalLimits.SetBudget(limit, inUse);
        if (limit > 0)
        {
            HostLog.DescriptorBudget(_logger, limit, inUse, budget);
        }
        State.Listening = true;
        State.StartHealthChecks();
        if (_configPath is not null)
        {
            _watcher = new ConfigWatcher(_configPath, () => ReloadAsync("file changed"));
        }
    }

    /// <summary>Where listener <paramref name="name"/> is bound (with the real port when lb.json said 0).</summary>
    public IPEndPoint EndPoint(string name) => _listeners[name].EndPoint;

    /// <summary>The names of the listeners running now.</summary>
    public IReadOnlyCollection<string> ListenerNames => _listeners.Keys.ToArray();

    /// <summary>
    /// Runs until SIGTERM or Ctrl+C (then stops gracefully), reloading on SIGHUP; or until
    /// <paramref name="stop"/> is cancelled.
    /// </summary>
    public async Task RunUntilSignalledAsync(CancellationToken stop = default)
    {
        var signalled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Stop(PosixSignalContext context, string name)
        {
            // The default action would end the process at once; the balancer stops gracefully instead.
            context.Cancel = true;
            signalled.TrySetResult(name);
        }

        // The handlers stay until the host is disposed, after the last log and access-log lines
        // are written: a signal during the stop cannot end the process before that.
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, "SIGTERM")));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, "SIGINT")));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => Stop(c, "SIGQUIT")));
        _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            _ = ReloadAsync("SIGHUP");
        }));
        if (!OperatingSystem.IsWindows())
        {
            // SIGUSR1 and SIGUSR2 end a process by default. SIGUSR1 reopens the log files (what
            // logrotate's postrotate sends to nginx); SIGUSR2 (nginx's binary upgrade, which
            // the balancer does not have) is logged and ignored. .NET names neither: raw numbers.
            bool mac = OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();
            _signals.Add(PosixSignalRegistration.Create((PosixSignal)(mac ? 30 : 10), c =>
            {
                c.Cancel = true;
                if (LogFiles is { } files)
                {
                    files.Reopen(_logger, "SIGUSR1");
                }
                else
                {
                    HostLog.SignalIgnored(_logger, "SIGUSR1", "no --log-file or --access-log-file to reopen");
                }
            }));
            _signals.Add(PosixSignalRegistration.Create((PosixSignal)(mac ? 31 : 12), c =>
            {
                c.Cancel = true;
                HostLog.SignalIgnored(_logger, "SIGUSR2", "ignored; SIGHUP reloads the configuration");
            }));
        }

        using var registration = stop.Register(() => signalled.TrySetResult("stop requested"));

        // Only now, with the signals handled, may systemd send SIGTERM or SIGHUP.
        _systemd.Notify(ServiceState.Ready);
        string reason = await signalled.Task.ConfigureAwait(false);
        await StopAsync(reason).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the config file again and applies it: an invalid file (or a certificate that does
    /// not load, or a new address that cannot be bound) is refused with every error logged and
    /// the running configuration kept.
    /// </summary>
    public async Task<ConfigResult> ReloadAsync(string trigger)
    {
        if (_configPath is null)
        {
            return new ConfigResult(null, [new ConfigError("$", "the balancer was not started from a file")], []);
        }

        if (Volatile.Read(ref _stopped) != 0)
        {
            return new ConfigResult(null, [new ConfigError("$", "the balancer is stopping")], []);
        }

        await _reloadLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                return new ConfigResult(null, [new ConfigError("$", "the balancer is stopping")], []);
            }

            HostLog.Reloading(_logger, _configPath, trigger);
            var result = ConfigLoader.LoadFile(_configPath);
            foreach (var warning in result.Warnings)
            {
                HostLog.ReloadWarning(_logger, warning.ToString());
            }

            if (!result.IsValid)
            {
                foreach (var error in result.Errors)
                {
                    HostLog.ReloadError(_logger, $"{_configPath}: {error}");
                }

                return result;
            }

            string? failure = await ApplyAsync(result.Config!).ConfigureAwait(false);
            if (failure is not null)
            {
                HostLog.ReloadError(_logger, failure);
                return new ConfigResult(null, [new ConfigError("listeners", failure)], result.Warnings);
            }

            HostLog.Reloaded(_logger, State.Current.Generation, result.Config!.Backends.Count, result.Config.Listeners.Count);
            return result;
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    // Listeners first (new ones bound before anything changes, so that a failure changes
    // nothing), then one snapshot swap, then the listeners that went away drain and stop.
    private async Task<string?> ApplyAsync(BalancerConfig config)
    {
        var before = State.Current.Config;
        var started = new List<ListenerServer>();
        var replaced = new List<(ListenerServer Old, ListenerServer New)>();
        foreach (var listener in config.Listeners)
        {
            if (_listeners.TryGetValue(listener.Name, out var running) && running.Config == listener && running.IsListening)
            {
                if (running.Certificate is { } certificate && !certificate.TryReload(out string? certificateError))
                {
                    HostLog.ReloadWarning(_logger, $"listener {listener.Name}: the certificate in use is kept: {certificateError}");
                }

                continue;
            }

            var server = ListenerServer.Create(listener, State, _loggerFactory, out string? error);
            if (server is null)
            {
                await StopAllAsync(started).ConfigureAwait(false);
                return error;
            }

            if (running is not null && SameAddress(running.Config.Address, listener.Address))
            {
                // Same address, new mode or certificate files: it can only bind once the old one is gone.
                replaced.Add((running, server));
                continue;
            }

            try
            {
                await server.StartAsync().ConfigureAwait(false);
                started.Add(server);
            }
            catch (IOException e)
            {
                await server.DisposeAsync().ConfigureAwait(false);
                await StopAllAsync(started).ConfigureAwait(false);
                return $"listener {listener.Name}: cannot listen on {listener.Address}: {CannotBindException.Reason(e)}";
            }
        }

        if (!SameAdmin(before.Admin, config.Admin))
        {
            HostLog.ReloadWarning(_logger, "the admin section changed; it takes effect when the balancer restarts");
        }

        if (!SameCluster(before.Cluster, config.Cluster))
        {
            HostLog.ReloadWarning(_logger, "the cluster section changed; it takes effect when the balancer restarts");
        }

        var next = config with { Admin = before.Admin, Cluster = before.Cluster };
        if (State.Cluster is { } cluster)
        {
            // The backends stay the shared ones; the file's seed an empty prefix only.
            cluster.ApplyFile(next);
        }
        else
        {
            State.Apply(next, runtimeEdit: false);
        }

        var timeout = TimeSpan.FromMilliseconds(config.Timeouts.ShutdownTimeoutMs);
        var names = config.Listeners.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, old) in _listeners.ToArray())
        {
            if (!names.Contains(name) || replaced.Any(r => r.Old == old) || started.Any(s => s.Config.Name == name))
            {
                _listeners.Remove(name);
                var replacement = replaced.FirstOrDefault(r => r.Old == old).New;
                _background.Add(Task.Run(async () =>
                {
                    await old.StopAsync(timeout).ConfigureAwait(false);
                    await old.DisposeAsync().ConfigureAwait(false);
                    HostLog.ListenerStopped(_logger, name);
                    if (replacement is not null)
                    {
                        try
                        {
                            await replacement.StartAsync().ConfigureAwait(false);
                            HostLog.Listening(_logger, replacement);
                        }
                        catch (IOException e)
                        {
                            // The address was taken in the meantime: said in the log, and the
                            // next reload tries again.
                            HostLog.ReloadError(_logger, $"listener {name}: cannot listen on {replacement.Config.Address}: {CannotBindException.Reason(e)}");
                        }
                    }
                }));
                if (replacement is not null)
                {
                    _listeners[name] = replacement;
                }
            }
        }

        foreach (var server in started)
        {
            _listeners[server.Config.Name] = server;
            HostLog.Listening(_logger, server);
        }

        return null;
    }

    private static bool SameAdmin(AdminConfig a, AdminConfig b) =>
        a.Address == b.Address && a.Token == b.Token && a.RateLimitPerSecond == b.RateLimitPerSecond && a.CorsOrigins.SequenceEqual(b.CorsOrigins) && a.AllowedHosts.SequenceEqual(b.AllowedHosts);

    private static bool SameCluster(ClusterConfig? a, ClusterConfig? b) =>
        a is null || b is null ? a == b : a.Endpoints.SequenceEqual(b.Endpoints) && a with { Endpoints = b.Endpoints } == b;

    private static bool SameAddress(HostPort a, HostPort b) => a.Port == b.Port && a.Port != 0 && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase);

    private static async Task StopAllAsync(List<ListenerServer> servers)
    {
        foreach (var server in servers)
        {
            await server.StopAsync(TimeSpan.Zero).ConfigureAwait(false);
            await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Graceful stop: /readyz turns 503, the listeners stop accepting, idle client connections
    /// close, requests in flight get <c>timeouts.shutdownTimeoutMs</c> to finish (their responses
    /// say <c>Connection: close</c>), then the rest is closed and the admin app stops.
    /// </summary>
    public async Task StopAsync(string reason = "stop")
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        int timeoutMs = State.Current.Config.Timeouts.ShutdownTimeoutMs;
        HostLog.ShuttingDown(_logger, reason, timeoutMs);
        _systemd.Notify(ServiceState.Stopping);
        State.Listening = false;
        _watcher?.Dispose();
        // A reload under way finishes first; later ones are refused (the stopped flag), so the
        // listeners below are the last set.
        await _reloadLock.WaitAsync().ConfigureAwait(false);
        _reloadLock.Release();
        var timeout = TimeSpan.FromMilliseconds(timeoutMs);
        await Task.WhenAll(_listeners.Values.Select(l => l.StopAsync(timeout))).ConfigureAwait(false);
        await Task.WhenAll(_background).ConfigureAwait(false);
        if (State.Cluster is { } cluster)
        {
            // Leaves the list of instances at once (the lease is revoked).
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        using (var adminDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _admin.StopAsync(adminDeadline.Token).ConfigureAwait(false);
        }

        HostLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        State.Listening = false;
        _watcher?.Dispose();
        foreach (var listener in _listeners.Values)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(_background).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }

        await _admin.DisposeAsync().ConfigureAwait(false);
        if (State.Cluster is { } cluster)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        await State.DisposeAsync().ConfigureAwait(false);
        if (_ownsLoggerFactory)
        {
            _loggerFactory.Dispose();
        }

        _reloadLock.Dispose();
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }
}
