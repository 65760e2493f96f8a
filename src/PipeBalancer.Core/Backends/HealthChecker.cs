using PipeBalancer.Configuration;
using PipeBalancer.ProxyProtocol;

namespace PipeBalancer.Backends;

/// <summary>
/// Active health checks: one loop per backend sends <c>health.method</c> <c>health.path</c>
/// every <c>health.intervalMs</c> (with jitter, backing off while the backend is down), feeds
/// the result to the backend's <see cref="HealthState"/>, and publishes every change. Time
/// comes from a <see cref="TimeProvider"/>, so tests drive it without sleeping.
/// </summary>
internal sealed class HealthChecker : IAsyncDisposable
{
    private readonly BackendSet _backends;
    private readonly HealthConfig _config;
    private readonly Dictionary<Backend, (CancellationTokenSource Stop, Task Loop)> _loops = [];
    private readonly Lock _loopsLock = new();
    private readonly TimeProvider _time;
    private readonly IHealthObserver[] _observers;
    private readonly Func<Backend, CancellationToken, Task<HealthCheckResult>> _probe;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient? _http;
    private readonly Func<Backend, ProxySend>? _proxySend;
    private readonly HttpClient? _proxyHttp;

    /// <summary>Creates the checker; nothing is sent until <see cref="Start"/>.</summary>
    /// <param name="backends">The backends to check.</param>
    /// <param name="config">The <c>health</c> section.</param>
    /// <param name="time">The clock (a fake one in tests).</param>
    /// <param name="observers">Who hears of changes.</param>
    /// <param name="probe">The check itself; null for HTTP. It may throw what a check expects (HTTP, socket, I/O, cancellation at its timeout).</param>
    /// <param name="random">Jitter source; null for a shared one.</param>
    /// <param name="proxySend">The PROXY header each backend is sent (its checks start with one too); null for none.</param>
    public HealthChecker(BackendSet backends, HealthConfig config, TimeProvider time, IEnumerable<IHealthObserver> observers,
        Func<Backend, CancellationToken, Task<HealthCheckResult>>? probe = null, Random? random = null, Func<Backend, ProxySend>? proxySend = null)
    {
        _proxySend = proxySend;
        _backends = backends;
        _config = config;
        _time = time;
        _observers = observers.ToArray();
        _random = random ?? Random.Shared;
        if (probe is null)
        {
            _http = CreateClient(config, connect: null);

            // Backends sent PROXY headers get their checks through a client whose connections start with one.
            _proxyHttp = proxySend is null ? null : CreateClient(config, HealthCheckConnector.ConnectAsync);
            _probe = HttpProbeAsync;
        }
        else
        {
            _probe = probe;
        }

        foreach (var backend in backends.Backends)
        {
            backend.HealthPolicy(config.UnknownTakesTraffic);
        }
    }

    /// <summary>Starts one checking loop per backend whose checks are enabled.</summary>
    public void Start() => Track(_backends);

    /// <summary>
    /// Checks the backends of <paramref name="set"/> from now on: loops go on for backends it
    /// kept, start for backends it added (which wait for their checks like any other), and stop
    /// for backends it no longer has.
    /// </summary>
    public void Track(BackendSet set)
    {
        lock (_loopsLock)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            foreach (var (backend, loop) in _loops.ToArray())
            {
                if (set.IndexOf(backend) < 0 || !ConfigFor(backend).Enabled)
                {
                    // Not disposed here: the loop may still be reading its token. It ends soon.
                    loop.Stop.Cancel();
                    _loops.Remove(backend);
                }
            }

            foreach (var backend in set.Backends)
            {
                if (_loops.ContainsKey(backend))
                {
                    continue;
                }

                backend.HealthPolicy(_config.UnknownTakesTraffic);
                var c = ConfigFor(backend);
                if (!c.Enabled)
                {
                    continue;
                }

                // A checker that replaces another (new health settings) goes on from what the
                // backend is known to be, rather than from Unknown.
                var state = new HealthState(c.Rise, c.Fall, TimeSpan.FromMilliseconds(c.IntervalMs), TimeSpan.FromMilliseconds(c.MaxBackoffMs), backend.Health);
                var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                _loops[backend] = (stop, Task.Run(() => LoopAsync(backend, state, stop.Token)));
            }
        }
    }

    /// <summary>The checks for <paramref name="backend"/>: its own <c>health</c> override, or the section.</summary>
    public HealthConfig ConfigFor(Backend backend) => backend.Config.Health ?? _config;

    /// <summary>Stops every loop.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] loops;
        lock (_loopsLock)
        {
            _stop.Cancel();
            loops = _loops.Values.Select(l => l.Loop).ToArray();
        }

        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _http?.Dispose();
        _proxyHttp?.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync(Backend backend, HealthState state, CancellationToken stop)
    {
        var config = ConfigFor(backend);
        bool faulted = false;
        while (!stop.IsCancellationRequested)
        {
            HealthCheckResult result;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(config.TimeoutMs), _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token))
            {
                try
                {
                    result = await _probe(backend, linked.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                {
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    if (IsLocalLimit(e))
                    {
                        // Out of descriptors or ports here: the check was never made, and says
                        // nothing of the backend (told once until a check completes).
                        if (!faulted)
                        {
                            faulted = true;
                            foreach (var observer in _observers)
                            {
                                observer.OnCheckNotMade(backend, e);
                            }
                        }

                        if (!await DelayAsync(state.NextDelay(config.Jitter, _random.NextDouble()), stop).ConfigureAwait(false))
                        {
                            return;
                        }

                        continue;
                    }

                    result = HealthCheckResult.From(e, config.TimeoutMs);
                }
                catch (Exception e)
                {
                    // A fault of the balancer, not of the backend: said once with its stack,
                    // counted for no one, and the next check comes as usual.
                    if (!faulted)
                    {
                        faulted = true;
                        foreach (var observer in _observers)
                        {
                            observer.OnCheckFault(backend, e);
                        }
                    }

                    if (!await DelayAsync(state.NextDelay(config.Jitter, _random.NextDouble()), stop).ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }
            }

            faulted = false;

            if (stop.IsCancellationRequested)
            {
                // The backend left this checker (removed, or new settings) while the check ran:
                // the result belongs to no one, least of all to the backend if it is added back.
                return;
            }

            var before = state.Status;
            bool changed = state.Record(result.Passed);
            if (backend.RecordCheck(_time.GetUtcNow(), result, state.Status, out var previous) && (previous is not null || !result.Passed))
            {
                foreach (var observer in _observers)
                {
                    observer.OnCheckOutcomeChanged(backend, previous, result);
                }
            }

            if (changed)
            {
                foreach (var observer in _observers)
                {
                    observer.OnHealthChanged(backend, before, state.Status);
                }
            }

            if (!await DelayAsync(state.NextDelay(config.Jitter, _random.NextDouble()), stop).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private static bool IsLocalLimit(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException socket)
            {
                return Forwarding.NetworkFault.Classify(socket) == Forwarding.NetworkFaultKind.LocalLimit;
            }
        }

        return false;
    }

    // False when the checker stops during the wait.
    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
    private static HttpClient CreateClient(HealthConfig config, Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect) =>
        new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromMilliseconds(config.TimeoutMs),
            ConnectCallback = connect,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    private async Task<HealthCheckResult> HttpProbeAsync(Backend backend, CancellationToken cancellationToken)
    {
        var config = ConfigFor(backend);
        var method = config.Method == "HEAD" ? HttpMethod.Head : HttpMethod.Get;
        using var request = new HttpRequestMessage(method, $"http://{backend.Config.Address.Text}{config.Path}");
        var http = _http!;
        if (_proxySend?.Invoke(backend) is ProxySend.V1 or ProxySend.V2 && _proxyHttp is not null)
        {
            request.Options.Set(HealthCheckConnector.Send, _proxySend(backend));
            http = _proxyHttp;
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        if (status < config.StatusMin || status > config.StatusMax)
        {
            return HealthCheckResult.UnexpectedStatus(status, config.StatusMin, config.StatusMax);
        }

        if (config.ExpectBody is { Length: > 0 } expected)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!body.Contains(expected, StringComparison.Ordinal))
            {
                return HealthCheckResult.BodyMismatch(status, expected);
            }
        }

        return HealthCheckResult.Pass(status);
    }
}
