using System.Globalization;
using System.Text.RegularExpressions;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>
/// GET /metrics in Prometheus text format. The meter has one name per process, so no other
/// balancer may run in this process while these tests scrape.
/// </summary>
[NonParallelizable]
public sealed partial class MetricsTests
{
    [Test]
    public async Task Metrics_ParseAsPrometheusText_AndCountWhatWasSent()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        var paths = RoutePrediction.Paths("m", 200);
        var predicted = await RoutePrediction.PredictAsync([a, b], paths);
        using (var client = balancer.CreateClient())
        {
            await RoutePrediction.ObserveAsync(client, paths);
        }

        using (var raw = await RawClient.ConnectAsync(balancer.EndPoint))
        {
            await raw.SendAsync("GET /bad%zz HTTP/1.1\r\nHost: x\r\n\r\n");
            await raw.ReadResponseAsync();
        }

        using var admin = balancer.CreateAdminClient();
        using var response = await admin.GetAsync("/metrics");
        string text = await response.Content.ReadAsStringAsync();
        var scrape = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/plain"));
            Assert.That(scrape.Types["pipebalancer_requests_total"], Is.EqualTo("counter"));
            Assert.That(scrape.Types["pipebalancer_backend_requests_total"], Is.EqualTo("counter"));
            Assert.That(scrape.Types["pipebalancer_backend_healthy"], Is.EqualTo("gauge"));
            Assert.That(scrape.Types["pipebalancer_backend_latency_seconds"], Is.EqualTo("gauge"));
            Assert.That(scrape.Types["pipebalancer_backend_sent_bytes_total"], Is.EqualTo("counter"));
            Assert.That(scrape.Value("pipebalancer_requests_total"), Is.EqualTo(200));
            Assert.That(scrape.Value("pipebalancer_backend_requests_total", ("backend", "a")), Is.EqualTo(predicted.Values.Count(v => v == "a")));
            Assert.That(scrape.Value("pipebalancer_backend_requests_total", ("backend", "b")), Is.EqualTo(predicted.Values.Count(v => v == "b")));
            Assert.That(scrape.Value("pipebalancer_backend_responses_total", ("backend", "a"), ("code_class", "2xx")), Is.EqualTo(predicted.Values.Count(v => v == "a")));
            Assert.That(scrape.Value("pipebalancer_rejections_total", ("reason", "invalidTarget")), Is.EqualTo(1));
            Assert.That(scrape.Value("pipebalancer_local_responses_total", ("code_class", "4xx")), Is.EqualTo(1));
            Assert.That(scrape.Value("pipebalancer_backend_eligible", ("backend", "b")), Is.EqualTo(1));
            Assert.That(scrape.Value("pipebalancer_backend_latency_seconds", ("backend", "a"), ("quantile", "0.99")), Is.GreaterThan(0).And.LessThan(10));
            Assert.That(scrape.Value("pipebalancer_backend_connections", ("backend", "a"), ("state", "idle")), Is.EqualTo(1));
            Assert.That(scrape.Value("pipebalancer_config_generation"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Metrics_FollowRuntimeChanges()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        using var admin = balancer.CreateAdminClient();
        using (var removed = await admin.DeleteAsync("/api/servers/b"))
        {
            Assert.That((int)removed.StatusCode, Is.EqualTo(204));
        }

        var scrape = Parse(await admin.GetStringAsync("/metrics"));
        Assert.Multiple(() =>
        {
            Assert.That(scrape.Series.Keys.Any(k => k.Contains("backend=\"b\"", StringComparison.Ordinal)), Is.False, "a removed backend leaves the metrics");
            Assert.That(scrape.Value("pipebalancer_backend_weight", ("backend", "a")), Is.EqualTo(1));
            Assert.That(scrape.Value("pipebalancer_config_generation"), Is.EqualTo(2));
        });
    }

    private sealed record Scrape(Dictionary<string, string> Types, Dictionary<string, double> Series)
    {
        public double Value(string name, params (string Name, string Value)[] labels)
        {
            var matches = Series.Where(s => SeriesName(s.Key) == name &&
                labels.All(l => s.Key.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal))).ToList();
            Assert.That(matches, Has.Count.EqualTo(1), $"one series {name} with {string.Join(", ", labels)}");
            return matches[0].Value;
        }

        private static string SeriesName(string key) => key.Split('{')[0];
    }

    // The text exposition format: # HELP / # TYPE lines, then samples `name{label="value",...} value`.
    private static Scrape Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.That(parts, Has.Length.EqualTo(4), line);
                Assert.That(MetricName().IsMatch(parts[2]), Is.True, $"metric name: {line}");
                Assert.That(parts[3], Is.AnyOf("counter", "gauge", "histogram", "summary", "untyped"), line);
                Assert.That(types.TryAdd(parts[2], parts[3]), Is.True, $"one TYPE per metric: {line}");
                continue;
            }

            if (line.StartsWith('#'))
            {
                Assert.That(line, Does.StartWith("# HELP ").Or.EqualTo("# EOF"), line);
                continue;
            }

            var sample = Sample().Match(line);
            Assert.That(sample.Success, Is.True, $"sample line: {line}");
            string name = sample.Groups["name"].Value;
            Assert.That(types.ContainsKey(name) || types.Keys.Any(t => name.StartsWith(t + "_", StringComparison.Ordinal)), Is.True, $"declared before use: {line}");
            string labels = sample.Groups["labels"].Value;
            if (labels.Length > 0)
            {
                Assert.That(Labels().IsMatch(labels), Is.True, $"labels: {line}");
            }

            double value = sample.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.That(series.TryAdd(name + "{" + labels + "}", value), Is.True, $"no duplicate series: {line}");
        }

        return new Scrape(types, series);
    }

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN|[+-]Inf)( -?[0-9]+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?$""")]
    private static partial Regex Labels();
}
