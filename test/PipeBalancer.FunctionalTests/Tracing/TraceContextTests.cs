using System.Net;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Forwarding;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Tracing;

/// <summary>
/// Trace context through a real balancer to a real backend that echoes the fields it received,
/// with the spans exported over OTLP/HTTP to an endpoint the test hosts.
/// </summary>
public sealed class TraceContextTests
{
    private const string IncomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string IncomingSpan = "00f067aa0ba902b7";
    private const string Sampled = "00-" + IncomingTrace + "-" + IncomingSpan + "-01";

    private static Func<BalancerConfig, BalancerConfig> Tracing(OtlpReceiver? receiver, double ratio = 1.0) =>
        c => c with { Tracing = new TracingConfig { Enabled = true, SamplingRatio = ratio, OtlpEndpoint = receiver?.Endpoint, ExportIntervalMs = 50 } };

    [Test]
    public async Task SampledIncomingTrace_BalancerSpanIsItsChild_AndTheParentOfWhatIsForwarded()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(receiver));
        using var client = balancer.CreateClient();

        var forwarded = await HeadersAsync(client, "/headers?x=1", ("traceparent", Sampled), ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
        var span = await receiver.SpanOfTraceAsync(IncomingTrace);
        string[] parts = forwarded["traceparent"].Single().Split('-');
        Assert.Multiple(() =>
        {
            Assert.That(span.ParentSpanId, Is.EqualTo(IncomingSpan), "the caller's span is the parent");
            Assert.That(span.Kind, Is.EqualTo(ReceivedSpan.KindClient));
            Assert.That(span.Name, Is.EqualTo("GET"));
            Assert.That(span.Scope, Is.EqualTo("PipeBalancer"));
            Assert.That(span.Service, Is.EqualTo("pipebalancer"));
            Assert.That(parts, Is.EqualTo(new[] { "00", IncomingTrace, span.SpanId, "01" }), "the backend's parent is the balancer's span, in the same trace");
            Assert.That(forwarded["tracestate"], Is.EqualTo(new[] { "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" }), "tracestate goes on unchanged");
            Assert.That(span.Attributes["http.request.method"], Is.EqualTo("GET"));
            Assert.That(span.Attributes["http.response.status_code"], Is.EqualTo(200L));
            Assert.That(span.Attributes["server.address"], Is.EqualTo("127.0.0.1"));
            Assert.That(span.Attributes["server.port"], Is.EqualTo((long)backend.Port));
            Assert.That(span.Attributes["url.path"], Is.EqualTo("/headers"));
            Assert.That(span.Attributes["pipebalancer.backend.id"], Is.EqualTo("a"));
            Assert.That(span.Attributes["pipebalancer.route.key_hash"],
                Is.EqualTo((long)balancer.State.Current.Backends.Router.HashKey("/headers"u8)));
            Assert.That(span.Attributes.ContainsKey("http.request.resend_count"), Is.False, "sent once");
            Assert.That(span.Attributes.ContainsKey("error.type"), Is.False);
            Assert.That(span.StatusCode, Is.Not.EqualTo(ReceivedSpan.StatusError));
        });
    }

    [Test]
    public async Task Retry_CountsTheResend_AndNamesTheBackendThatAnswered_AFailureIsAnError()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var broken = new RawBackend(async (socket, self) =>
        {
            await self.ReadHeadAsync(socket);
            socket.Close();
        });
        await using var live = await TestBackend.StartAsync("live");
        await using var balancer = await TestBalancer.StartAsync([("broken", broken.Port), ("live", live.Port)],
            c => Tracing(receiver)(c) with { Circuit = c.Circuit with { Enabled = false } });
        var router = balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(2);
        string path = Enumerable.Range(0, 100).Select(i => $"/r/{i}").First(p => router.Select(Encoding.ASCII.GetBytes(p), view) == 0);
        using var client = balancer.CreateClient();

        const string getTrace = "11111111111111111111111111111111";
        const string postTrace = "22222222222222222222222222222222";
        using var get = new HttpRequestMessage(HttpMethod.Get, path);
        get.Headers.Add("traceparent", $"00-{getTrace}-{IncomingSpan}-01");
        using var got = await client.SendAsync(get);
        using var post = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("once") };
        post.Headers.Add("traceparent", $"00-{postTrace}-{IncomingSpan}-01");
        using var posted = await client.SendAsync(post);

        var retried = await receiver.SpanOfTraceAsync(getTrace);
        var failed = await receiver.SpanOfTraceAsync(postTrace);
        Assert.Multiple(() =>
        {
            Assert.That(got.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(retried.Attributes["http.request.resend_count"], Is.EqualTo(1L));
            Assert.That(retried.Attributes["server.port"], Is.EqualTo((long)live.Port), "the backend that answered");
            Assert.That(retried.Attributes["http.response.status_code"], Is.EqualTo(200L));
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
            Assert.That(failed.Name, Is.EqualTo("POST"));
            Assert.That(failed.Attributes["error.type"], Is.EqualTo("502"));
            Assert.That(failed.Attributes["server.port"], Is.EqualTo((long)broken.Port));
            Assert.That(failed.StatusCode, Is.EqualTo(ReceivedSpan.StatusError));
        });
    }

    [Test]
    public async Task NoIncomingTrace_RatioOne_StartsOne_RatioZero_ForwardsNoTrace()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(receiver, ratio: 1.0));
        using var client = balancer.CreateClient();

        var started = await HeadersAsync(client, "/headers");
        string[] parts = started["traceparent"].Single().Split('-');
        var root = await receiver.SpanOfTraceAsync(parts[1]);
        Assert.Multiple(() =>
        {
            Assert.That(parts[0], Is.EqualTo("00"));
            Assert.That(parts[2], Is.EqualTo(root.SpanId));
            Assert.That(parts[3], Is.EqualTo("01"));
            Assert.That(root.ParentSpanId, Is.Empty, "a new trace: the balancer's span is its root");
        });

        // Ratio 0, applied as a reload would: the next request starts no trace. A request with a
        // sampled trace after it still gets its span: once that span is in, nothing else came.
        balancer.State.Apply(balancer.State.Current.Config with { Tracing = balancer.State.Current.Config.Tracing with { SamplingRatio = 0 } }, runtimeEdit: false);
        int before = receiver.Spans.Count;
        var unsampled = await HeadersAsync(client, "/headers");
        await HeadersAsync(client, "/headers", ("traceparent", Sampled));
        await receiver.SpanOfTraceAsync(IncomingTrace);
        Assert.Multiple(() =>
        {
            Assert.That(unsampled.ContainsKey("traceparent"), Is.False, "no trace started, none forwarded");
            Assert.That(receiver.Spans.Count - before, Is.EqualTo(1), "only the incoming trace's span");
        });
    }

    [Test]
    public async Task InvalidTraceparent_IsTreatedAsAbsent_AndItsTracestateDropped()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(receiver));
        using var client = balancer.CreateClient();

        string upper = "00-" + IncomingTrace.ToUpperInvariant() + "-" + IncomingSpan + "-01";
        var forwarded = await HeadersAsync(client, "/headers", ("traceparent", upper), ("tracestate", "congo=t61rcWkgMzE"));
        string[] parts = forwarded["traceparent"].Single().Split('-');
        var span = await receiver.SpanOfTraceAsync(parts[1]);
        Assert.Multiple(() =>
        {
            Assert.That(parts[1], Is.Not.EqualTo(IncomingTrace), "a new trace, not the invalid one");
            Assert.That(span.ParentSpanId, Is.Empty);
            Assert.That(forwarded.ContainsKey("tracestate"), Is.False, "tracestate means nothing without a valid traceparent");
        });
    }

    [Test]
    public async Task UnsampledIncomingTrace_PassesThroughUnchanged_WithoutASpan()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(receiver));
        using var client = balancer.CreateClient();

        string notSampled = "00-" + IncomingTrace + "-" + IncomingSpan + "-00";
        var forwarded = await HeadersAsync(client, "/headers", ("traceparent", notSampled), ("tracestate", "congo=t61rcWkgMzE"));
        const string marker = "33333333333333333333333333333333";
        await HeadersAsync(client, "/headers", ("traceparent", $"00-{marker}-{IncomingSpan}-01"));
        await receiver.SpanOfTraceAsync(marker);
        Assert.Multiple(() =>
        {
            Assert.That(forwarded["traceparent"], Is.EqualTo(new[] { notSampled }));
            Assert.That(forwarded["tracestate"], Is.EqualTo(new[] { "congo=t61rcWkgMzE" }));
            Assert.That(receiver.Spans.Select(s => s.TraceId), Is.EqualTo(new[] { marker }), "the caller's decision not to record is followed");
        });
    }

    [Test]
    public async Task TracingOff_HeadersPassThroughUnchanged()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)]);
        using var client = balancer.CreateClient();

        string invalid = "00-" + IncomingTrace.ToUpperInvariant() + "-" + IncomingSpan + "-01";
        var forwarded = await HeadersAsync(client, "/headers", ("traceparent", invalid), ("tracestate", "congo=t61rcWkgMzE"), ("X-Request-Id", "not valid"));
        var none = await HeadersAsync(client, "/headers");
        Assert.Multiple(() =>
        {
            Assert.That(forwarded["traceparent"], Is.EqualTo(new[] { invalid }));
            Assert.That(forwarded["tracestate"], Is.EqualTo(new[] { "congo=t61rcWkgMzE" }));
            Assert.That(forwarded["X-Request-Id"], Is.EqualTo(new[] { "not valid" }));
            Assert.That(none.ContainsKey("traceparent") || none.ContainsKey("X-Request-Id"), Is.False);
        });
    }

    [Test]
    public async Task WithoutAnExporter_ContextIsStillCarriedOn()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(receiver: null));
        using var client = balancer.CreateClient();

        var forwarded = await HeadersAsync(client, "/headers", ("traceparent", Sampled));
        string[] parts = forwarded["traceparent"].Single().Split('-');
        Assert.Multiple(() =>
        {
            Assert.That(parts[1], Is.EqualTo(IncomingTrace));
            Assert.That(parts[2], Is.Not.EqualTo(IncomingSpan).And.Match("^[0-9a-f]{16}$"), "a span id of the balancer's own");
            Assert.That(balancer.State.TraceExport.Exporting, Is.False);
        });
    }

    [Test]
    public async Task ExporterEndpointChange_OnReload_SendsToTheNewEndpoint()
    {
        await using var first = await OtlpReceiver.StartAsync();
        await using var second = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)], Tracing(first));
        using var client = balancer.CreateClient();

        const string before = "44444444444444444444444444444444";
        const string after = "55555555555555555555555555555555";
        await HeadersAsync(client, "/headers", ("traceparent", $"00-{before}-{IncomingSpan}-01"));
        await first.SpanOfTraceAsync(before);
        var config = balancer.State.Current.Config;
        balancer.State.Apply(config with { Tracing = config.Tracing with { OtlpEndpoint = second.Endpoint } }, runtimeEdit: false);
        await HeadersAsync(client, "/headers", ("traceparent", $"00-{after}-{IncomingSpan}-01"));
        await second.SpanOfTraceAsync(after);
        Assert.That(first.Spans.Select(s => s.TraceId), Does.Not.Contain(after));

        // Turned off: the next request passes its headers on untouched.
        config = balancer.State.Current.Config;
        balancer.State.Apply(config with { Tracing = config.Tracing with { Enabled = false } }, runtimeEdit: false);
        var forwarded = await HeadersAsync(client, "/headers", ("traceparent", Sampled));
        Assert.Multiple(() =>
        {
            Assert.That(forwarded["traceparent"], Is.EqualTo(new[] { Sampled }));
            Assert.That(balancer.State.TraceExport.Exporting, Is.False);
        });
    }

    [Test]
    public async Task RequestId_KeptWhenValid_GeneratedWhenAbsent_ReplacedWhenInvalid_AndInTheAccessLog()
    {
        await using var backend = await TestBackend.StartAsync("a");
        var output = new MemoryStream();
        Dictionary<string, string[]> kept, generated, replaced;
        await using (var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { RequestId = new RequestIdConfig { Enabled = true } }, accessLog: new AccessLog(output, json: false)))
        {
            using var client = balancer.CreateClient();
            kept = await HeadersAsync(client, "/headers?kept", ("X-Request-Id", "req-42"));
            generated = await HeadersAsync(client, "/headers?generated");
            replaced = await HeadersAsync(client, "/headers?replaced", ("x-request-id", new string('z', 201)));
        }

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(f => f[3], f => f[^1]);
        Assert.Multiple(() =>
        {
            Assert.That(kept["X-Request-Id"], Is.EqualTo(new[] { "req-42" }));
            Assert.That(generated["X-Request-Id"].Single(), Does.Match("^[0-9a-f]{32}$"));
            Assert.That(replaced["X-Request-Id"].Single(), Does.Match("^[0-9a-f]{32}$"), "one id only, the new one");
            Assert.That(lines["/headers?kept"], Is.EqualTo("req-42"));
            Assert.That(lines["/headers?generated"], Is.EqualTo(generated["X-Request-Id"].Single()));
            Assert.That(lines["/headers?replaced"], Is.EqualTo(replaced["X-Request-Id"].Single()));
        });
    }

    [Test]
    public async Task RequestId_UnderAnotherName_ReplacesTheFieldOfThatName()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", backend.Port)],
            c => c with { RequestId = new RequestIdConfig { Enabled = true, Header = "X-Correlation-Id" } });
        using var raw = await RawClient.ConnectAsync(balancer.EndPoint);
        await raw.SendAsync("GET /headers HTTP/1.1\r\nHost: x\r\nX-Correlation-Id: abc\r\nx-correlation-id: def\r\nX-Request-Id: other\r\n\r\n");
        var response = await raw.ReadResponseAsync();
        var forwarded = Fields(response!.BodyText);
        Assert.Multiple(() =>
        {
            Assert.That(forwarded["X-Correlation-Id"], Is.EqualTo(new[] { "abc" }), "the first, once");
            Assert.That(forwarded["X-Request-Id"], Is.EqualTo(new[] { "other" }), "another field is not the id");
        });
    }

    // GET path with the given fields; the field lines the backend received, by name.
    private static async Task<Dictionary<string, string[]>> HeadersAsync(HttpClient client, string path, params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in fields)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return Fields(await response.Content.ReadAsStringAsync());
    }

    // The backend's /headers answer: one "name: value" line per value received.
    private static Dictionary<string, string[]> Fields(string text)
    {
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => (Name: line[..line.IndexOf(':', StringComparison.Ordinal)], Value: line[(line.IndexOf(':', StringComparison.Ordinal) + 2)..]))
            .GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Select(f => f.Value).ToArray(), StringComparer.OrdinalIgnoreCase);
    }
}
