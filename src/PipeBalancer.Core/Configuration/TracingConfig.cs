namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>tracing</c> section: W3C trace context on forwarded requests, one span per proxied
/// request from the <c>PipeBalancer</c> ActivitySource, and its export over OTLP. Off by default.
/// </summary>
internal sealed record TracingConfig
{
    /// <summary>Off: traceparent and tracestate pass through unchanged and no span is made.</summary>
    public static readonly TracingConfig Default = new();

    /// <summary>Whether the balancer takes part in traces.</summary>
    public bool Enabled { get; init; }

    /// <summary>
    /// The share of requests without an incoming trace for which the balancer starts one (0..1).
    /// A request with a valid traceparent follows its caller's sampled flag instead.
    /// </summary>
    public double SamplingRatio { get; init; } = 1.0;

    /// <summary>Where spans are sent (an OTLP endpoint URL), or null to export nothing (context is still propagated).</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>The OTLP transport for <see cref="OtlpEndpoint"/>.</summary>
    public OtlpProtocol OtlpProtocol { get; init; } = OtlpProtocol.HttpProtobuf;

    /// <summary>How long finished spans wait to be sent in one batch (OTEL_BSP_SCHEDULE_DELAY's default is 5000).</summary>
    public int ExportIntervalMs { get; init; } = 5000;

    /// <summary>The <c>service.name</c> resource attribute of exported spans.</summary>
    public string ServiceName { get; init; } = "pipebalancer";

    internal static readonly ConfigSchema<TracingConfig> Schema = new(Default,
    [
        new BoolSetting<TracingConfig>("enabled", c => c.Enabled, (c, v) => c with { Enabled = v }),
        new NumberSetting<TracingConfig>("samplingRatio", 0, 1, exclusiveMin: false, c => c.SamplingRatio, (c, v) => c with { SamplingRatio = v }),
        new StringSetting<TracingConfig>("otlpEndpoint", c => c.OtlpEndpoint, (c, v) => c with { OtlpEndpoint = v }),
        new ChoiceSetting<TracingConfig, OtlpProtocol>("otlpProtocol",
            [("http/protobuf", OtlpProtocol.HttpProtobuf), ("grpc", OtlpProtocol.Grpc)], c => c.OtlpProtocol, (c, v) => c with { OtlpProtocol = v }),
        new IntSetting<TracingConfig>("exportIntervalMs", 10, 60_000, c => c.ExportIntervalMs, (c, v) => c with { ExportIntervalMs = v }),
        new StringSetting<TracingConfig>("serviceName", c => c.ServiceName, (c, v) => c with { ServiceName = v ?? "" }),
    ]);
}
