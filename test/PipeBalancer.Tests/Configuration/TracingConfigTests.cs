using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>The <c>tracing</c> and <c>requestId</c> sections: read, defaulted, and refused with the path and the reason.</summary>
public sealed class TracingConfigTests
{
    private const string Required = """ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ], "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] """;

    [Test]
    public void Absent_BothOff()
    {
        var result = ConfigLoader.Parse("{" + Required + "}");
        Assert.That(result.Errors, Is.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(result.Config!.Tracing.Enabled, Is.False);
            Assert.That(result.Config!.Tracing.SamplingRatio, Is.EqualTo(1.0));
            Assert.That(result.Config!.Tracing.OtlpEndpoint, Is.Null);
            Assert.That(result.Config!.RequestId.Enabled, Is.False);
            Assert.That(result.Config!.RequestId.Header, Is.EqualTo("X-Request-Id"));
        });
    }

    [Test]
    public void EverySetting_IsRead()
    {
        var result = ConfigLoader.Parse("{" + Required + """
            , "tracing": { "enabled": true, "samplingRatio": 0.25, "otlpEndpoint": "http://collector:4317", "otlpProtocol": "grpc", "exportIntervalMs": 500, "serviceName": "edge" },
              "requestId": { "enabled": true, "header": "X-Correlation-Id" } }
            """);
        Assert.That(result.Errors, Is.Empty);
        var tracing = result.Config!.Tracing;
        Assert.Multiple(() =>
        {
            Assert.That(tracing, Is.EqualTo(new TracingConfig
            {
                Enabled = true, SamplingRatio = 0.25, OtlpEndpoint = "http://collector:4317", OtlpProtocol = OtlpProtocol.Grpc, ExportIntervalMs = 500, ServiceName = "edge",
            }));
            Assert.That(result.Config!.RequestId, Is.EqualTo(new RequestIdConfig { Enabled = true, Header = "X-Correlation-Id" }));
        });
    }

    [TestCase("""{ "tracing": { "enabled": "yes" } }""", "tracing.enabled", "must be true or false")]
    [TestCase("""{ "tracing": { "samplingRatio": 1.5 } }""", "tracing.samplingRatio", "at most 1")]
    [TestCase("""{ "tracing": { "samplingRatio": -0.1 } }""", "tracing.samplingRatio", "must be 0 and at most 1")]
    [TestCase("""{ "tracing": { "otlpEndpoint": "collector:4318" } }""", "tracing.otlpEndpoint", "must be an http or https URL")]
    [TestCase("""{ "tracing": { "otlpEndpoint": "ftp://collector/v1/traces" } }""", "tracing.otlpEndpoint", "must be an http or https URL")]
    [TestCase("""{ "tracing": { "otlpEndpoint": "http://user:pw@collector:4318/v1/traces" } }""", "tracing.otlpEndpoint", "no credentials")]
    [TestCase("""{ "tracing": { "otlpProtocol": "thrift" } }""", "tracing.otlpProtocol", "expected one of http/protobuf, grpc")]
    [TestCase("""{ "tracing": { "exportIntervalMs": 0 } }""", "tracing.exportIntervalMs", "must be 10..60000, got 0")]
    [TestCase("""{ "tracing": { "serviceName": " " } }""", "tracing.serviceName", "must not be empty")]
    [TestCase("""{ "tracing": { "sampling": 1 } }""", "tracing.sampling", "unknown property")]
    [TestCase("""{ "requestId": { "header": "X Request Id" } }""", "requestId.header", "RFC 9110 token")]
    [TestCase("""{ "requestId": { "header": "" } }""", "requestId.header", "RFC 9110 token")]
    [TestCase("""{ "requestId": { "header": "traceparent" } }""", "requestId.header", "writes that field itself")]
    [TestCase("""{ "requestId": { "header": "x-forwarded-for" } }""", "requestId.header", "writes that field itself")]
    [TestCase("""{ "requestId": { "enabled": 1 } }""", "requestId.enabled", "must be true or false")]
    public void Invalid_NamesThePathAndTheReason(string section, string path, string reason)
    {
        string json = section.TrimEnd().TrimEnd('}') + ", " + Required + " }";
        var result = ConfigLoader.Parse(json);
        Assert.That(result.Errors.Where(e => e.Path == path).Select(e => e.Reason), Has.Some.Contains(reason), string.Join("; ", result.Errors));
    }

    [Test]
    public void TwoErrors_BothReportedInOneRun()
    {
        var result = ConfigLoader.Parse("{" + Required + """, "tracing": { "otlpEndpoint": "nowhere" }, "requestId": { "header": "a b" } }""");
        Assert.That(result.Errors.Select(e => e.Path), Is.SupersetOf(new[] { "tracing.otlpEndpoint", "requestId.header" }));
    }
}
