using System.Diagnostics;
using System.Diagnostics.Metrics;
using PipeBalancer.Backends;
using PipeBalancer.Forwarding;
using PipeBalancer.Http1;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Runtime;

namespace PipeBalancer.Admin;

/// <summary>
/// The balancer's System.Diagnostics.Metrics instruments (meter <c>PipeBalancer</c>), seen by
/// the Prometheus exporter on <c>/metrics</c>, by dotnet-counters and by OpenTelemetry. Every
/// instrument is observable: it reads the counters the data plane keeps anyway when a
/// collector asks, so metrics add nothing to the forwarding path.
/// </summary>
internal sealed class BalancerMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "PipeBalancer";

    private readonly Meter _meter;
    private readonly ProxyState _state;

    /// <summary>Creates the instruments over <paramref name="state"/>.</summary>
    public BalancerMetrics(ProxyState state, string version)
    {
        _state = state;
        _meter = new Meter(MeterName, version);

        _meter.CreateObservableCounter("pipebalancer.requests", () => _state.Counters.Requests, "{request}",
            "Requests forwarded to a backend (each retry counts)");
        _meter.CreateObservableCounter("pipebalancer.retries", () => _state.Counters.Retries, "{request}",
            "Requests sent again to another backend after a failure");
        _meter.CreateObservableUpDownCounter("pipebalancer.client.connections", () => _state.Counters.OpenConnections, "{connection}",
            "Client connections open now");
        _meter.CreateObservableCounter("pipebalancer.rejections", Rejections, "{request}",
            "Requests refused before reaching a backend, by reason");
        _meter.CreateObservableCounter("pipebalancer.local.responses", LocalResponses, "{response}",
            "Responses the balancer made itself (rejections, 502, 503, 504), by status class");
        _meter.CreateObservableCounter("pipebalancer.unavailable", () => _state.Counters.NoBackend, "{request}",
            "Requests answered 503 because no backend could be chosen");
        _meter.CreateObservableCounter("pipebalancer.proxy_protocol.accepted", () => _state.Counters.ProxyHeaders, "{connection}",
            "PROXY headers accepted from trusted sources");
        _meter.CreateObservableCounter("pipebalancer.proxy_protocol.refused", ProxyHeaderRefusals, "{connection}",
            "Connections closed at their PROXY header, by reason");
        _meter.CreateObservableGauge("pipebalancer.config.generation", () => _state.Current.Generation, null,
            "1 for the configuration read at start, one more for each change applied since");

        _meter.CreateObservableCounter("pipebalancer.ratelimit.requests", RateLimitRequests, "{request}",
            "Requests (TCP: connections) a rate limiter let through or limited, by limiter and result");
        _meter.CreateObservableUpDownCounter("pipebalancer.ratelimit.entries", () => PerLimiter(l => l.Table.Entries), "{key}",
            "Keys a rate limiter's table holds now");
        _meter.CreateObservableCounter("pipebalancer.ratelimit.evictions", () => PerLimiter(l => l.Table.Evictions), "{key}",
            "Keys a rate limiter forgot to make room for new ones");

        _meter.CreateObservableGauge("pipebalancer.cluster.stale", () => ClusterGauge(c => c.StaleSince is null ? 0L : 1L), null,
            "1 while etcd is unreachable and the shared backends may be stale (only with a cluster section)");
        _meter.CreateObservableGauge("pipebalancer.cluster.stale_since", () => ClusterGauge(c => c.StaleSince?.ToUnixTimeSeconds() ?? 0L), "s",
            "Unix time since which etcd has been unreachable, 0 while it is reachable (only with a cluster section)");
        _meter.CreateObservableGauge("pipebalancer.cluster.applied_revision", () => ClusterGauge(c => c.AppliedRevision), null,
            "The etcd revision of the shared backends this instance routes on (only with a cluster section)");

        _meter.CreateObservableCounter("pipebalancer.backend.requests", () => PerBackend(b => b.Requests), "{request}",
            "Requests sent to the backend");
        _meter.CreateObservableCounter("pipebalancer.backend.responses", BackendResponses, "{response}",
            "Responses relayed from the backend, by status class");
        _meter.CreateObservableCounter("pipebalancer.backend.errors", BackendErrors, "{error}",
            "Backend failures, by kind");
        _meter.CreateObservableCounter("pipebalancer.backend.sent", () => PerBackend(b => b.Stats.BytesSent), "By",
            "Bytes sent to the backend");
        _meter.CreateObservableCounter("pipebalancer.backend.received", () => PerBackend(b => b.Stats.BytesReceived), "By",
            "Bytes received from the backend");
        _meter.CreateObservableCounter("pipebalancer.backend.health_checks", HealthChecks, "{check}",
            "Active health checks sent, by result");
        _meter.CreateObservableUpDownCounter("pipebalancer.backend.in_flight", () => PerBackend(b => (long)b.InFlight), "{request}",
            "Requests the backend is handling now");
        _meter.CreateObservableUpDownCounter("pipebalancer.backend.connections", Connections, "{connection}",
            "Connections open to the backend, by state (idle in the pool, or active)");
        _meter.CreateObservableGauge("pipebalancer.backend.eligible", () => PerBackend(b => b.Eligible ? 1L : 0L), null,
            "1 when routing may choose the backend (healthy or unknown, circuit not open, not draining)");
        _meter.CreateObservableGauge("pipebalancer.backend.healthy", () => PerBackend(b => b.Health == HealthStatus.Healthy ? 1L : 0L), null,
            "1 when active health checks say the backend is healthy");
        _meter.CreateObservableGauge("pipebalancer.backend.circuit_open", () => PerBackend(b => b.Circuit.State == CircuitState.Closed ? 0L : 1L), null,
            "1 when the backend's circuit breaker is open or half-open");
        _meter.CreateObservableGauge("pipebalancer.backend.weight", () => PerBackend(b => (long)b.Config.Weight), null,
            "The backend's routing weight");
        _meter.CreateObservableGauge("pipebalancer.backend.latency", Latency, "s",
            "Response-head latency over the last 60 seconds, by quantile (0.5, 0.9, 0.99)");
        _meter.CreateObservableGauge("pipebalancer.discovery.targets", () => PerGroup(s => s.Targets.Count), "{target}",
            "Targets in the discovery group's last known good set");
        _meter.CreateObservableGauge("pipebalancer.discovery.age", DiscoveryAge, "s",
            "Time since a DNS answer last confirmed the group's set");
        _meter.CreateObservableGauge("pipebalancer.discovery.stale", () => PerGroup(s => s.Status == Discovery.GroupStatus.Current ? 0 : 1), null,
            "1 while the group's lookups fail (or none has succeeded yet) and its last known set is kept");
        _meter.CreateObservableCounter("pipebalancer.discovery.failed_lookups", () => PerGroup(s => s.Failures), "{lookup}",
            "DNS lookups of the group that failed (timeout, SERVFAIL, REFUSED, NXDOMAIN, empty answer refused)");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    // Only groups that have had an answer: a group still pending has no set to be old.
    private IEnumerable<Measurement<double>> DiscoveryAge()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var group in _state.Discovery.Groups)
        {
            if (group.Read(s => s.Age(now)) is { } age)
            {
                yield return new Measurement<double>(age.TotalSeconds, new KeyValuePair<string, object?>("group", group.Config.Group));
            }
        }
    }

    private IEnumerable<Measurement<TValue>> PerGroup<TValue>(Func<Discovery.GroupState, TValue> read)
        where TValue : struct =>
        _state.Discovery.Groups.Select(g => new Measurement<TValue>(g.Read(read), new KeyValuePair<string, object?>("group", g.Config.Group)));

    private IEnumerable<Measurement<long>> ClusterGauge(Func<Cluster.ClusterSync, long> read) =>
        _state.Cluster is { } cluster ? [new Measurement<long>(read(cluster))] : [];

    private static KeyValuePair<string, object?> BackendTag(Backend b) => new("backend", b.Config.Id);

    private IEnumerable<Measurement<long>> PerBackend(Func<Backend, long> read) =>
        _state.Current.Backends.Backends.Select(b => new Measurement<long>(read(b), BackendTag(b)));

    private IEnumerable<Measurement<long>> PerLimiter(Func<RateLimiting.RateLimiter, long> read) =>
        _state.Current.RateLimits.All.Select(l => new Measurement<long>(read(l), new KeyValuePair<string, object?>("limiter", l.Config.Name)));

    private IEnumerable<Measurement<long>> RateLimitRequests() =>
        _state.Current.RateLimits.All.SelectMany(l => new[]
        {
            new Measurement<long>(l.Allowed, new("limiter", l.Config.Name), new("result", "allowed")),
            new Measurement<long>(l.Limited, new("limiter", l.Config.Name), new("result", "limited")),
        });

    private IEnumerable<Measurement<long>> Rejections() =>
        Enum.GetValues<RejectReason>()
            .Where(r => r != RejectReason.None)
            .Select(r => new Measurement<long>(_state.Counters.Rejections(r), new KeyValuePair<string, object?>("reason", Names.Of(r))));

    private IEnumerable<Measurement<long>> ProxyHeaderRefusals() =>
        ProxyHeaderErrors.All.Select(e => new Measurement<long>(_state.Counters.ProxyHeaderRefusals(e), new KeyValuePair<string, object?>("reason", ProxyHeaderErrors.Name(e))));

    private IEnumerable<Measurement<long>> LocalResponses() =>
        Enumerable.Range(0, StatusClasses.Count)
            .Select(c => new Measurement<long>(_state.Counters.OwnResponses(c), new KeyValuePair<string, object?>("code_class", StatusClasses.Names[c])));

    private IEnumerable<Measurement<long>> BackendResponses() =>
        _state.Current.Backends.Backends.SelectMany(b => Enumerable.Range(0, StatusClasses.Count)
            .Select(c => new Measurement<long>(b.Stats.Responses(c), BackendTag(b), new("code_class", StatusClasses.Names[c]))));

    private IEnumerable<Measurement<long>> BackendErrors() =>
        _state.Current.Backends.Backends.SelectMany(b => Enum.GetValues<BackendErrorKind>()
            .Select(k => new Measurement<long>(b.Stats.Errors(k), BackendTag(b), new("kind", Names.Of(k)))));

    private IEnumerable<Measurement<long>> HealthChecks() =>
        _state.Current.Backends.Backends.SelectMany(b => new[]
        {
            new Measurement<long>(b.Stats.Checks - b.Stats.FailedChecks, BackendTag(b), new("result", "passed")),
            new Measurement<long>(b.Stats.FailedChecks, BackendTag(b), new("result", "failed")),
        });

    private IEnumerable<Measurement<long>> Connections() =>
        _state.Current.Backends.Backends.SelectMany(b =>
        {
            int idle = b.Pool.IdleCount;
            return new[]
            {
                new Measurement<long>(idle, BackendTag(b), new("state", "idle")),
                new Measurement<long>(Math.Max(0, b.Stats.OpenConnections - idle), BackendTag(b), new("state", "active")),
            };
        });

    private IEnumerable<Measurement<double>> Latency()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var b in _state.Current.Backends.Backends)
        {
            var summary = b.Stats.Latency.Summarize(now);
            if (summary.Samples == 0)
            {
                continue;
            }

            yield return new Measurement<double>(summary.P50!.Value / 1000, BackendTag(b), new("quantile", "0.5"));
            yield return new Measurement<double>(summary.P90!.Value / 1000, BackendTag(b), new("quantile", "0.9"));
            yield return new Measurement<double>(summary.P99!.Value / 1000, BackendTag(b), new("quantile", "0.99"));
        }
    }
}
