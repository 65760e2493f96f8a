namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>A span as an OTLP endpoint received it: ids in lowercase hex, attributes by key.</summary>
public sealed record ReceivedSpan(
    string Service,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    int StatusCode,
    IReadOnlyDictionary<string, object> Attributes)
{
    /// <summary>OTLP's SPAN_KIND_CLIENT.</summary>
    public const int KindClient = 3;

    /// <summary>OTLP's STATUS_CODE_ERROR.</summary>
    public const int StatusError = 2;
}
