namespace PipeBalancer.Configuration;

/// <summary>How spans travel to the OTLP endpoint (<c>tracing.otlpProtocol</c>).</summary>
internal enum OtlpProtocol : byte
{
    /// <summary>Protobuf over HTTP POST, to the full URL given (usually ending in <c>/v1/traces</c>, port 4318).</summary>
    HttpProtobuf,

    /// <summary>gRPC (port 4317).</summary>
    Grpc,
}
