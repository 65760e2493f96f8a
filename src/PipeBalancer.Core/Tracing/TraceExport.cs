using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tracing;

/// <summary>
/// Sends the spans of <see cref="ProxyActivity.Source"/> to the OTLP endpoint of the
/// <c>tracing</c> section (the OpenTelemetry SDK's batch processor and OTLP exporter). Applied
/// at start and on every reload: a change of endpoint, protocol, interval or service name
/// replaces the exporter (the old one sends what it holds, then stops); tracing turned off or no
/// endpoint stops it. Sampling is decided per request by <see cref="RequestTracing"/>, so the
/// SDK records every span it is given.
/// </summary>
internal sealed class TraceExport : IDisposable
{
    private readonly Lock _lock = new();
    private TracerProvider? _provider;
    private TracingConfig? _applied;

    /// <summary>Starts with nothing exported.</summary>
    public TraceExport(ILogger logger) => Logger = logger;

    /// <summary>Where tracing logs (also used per connection for request ids).</summary>
    public ILogger Logger { get; }

    /// <summary>Whether spans are being exported now.</summary>
    public bool Exporting
    {
        get
        {
            lock (_lock)
            {
                return _provider is not null;
            }
        }
    }

    /// <summary>Puts <paramref name="config"/>'s export settings in force, rebuilding the exporter only when they changed.</summary>
    public void Apply(TracingConfig config)
    {
        var wanted = config.Enabled && config.OtlpEndpoint is not null ? config with { SamplingRatio = 0 } : null;
        lock (_lock)
        {
            if (wanted == _applied)
            {
                return;
            }

            var old = _provider;
            var oldEndpoint = _applied?.OtlpEndpoint;
            _provider = null;
            _applied = wanted;
            if (old is not null)
            {
                // Disposing stops its listener at once, then sends what the batch holds (up to the
                // export timeout): not on the caller's thread, which may be a reload.
                _ = Task.Run(old.Dispose);
                Log.ExportStopped(Logger, oldEndpoint!);
            }

            if (wanted is not null)
            {
                _provider = Build(wanted);
            }
        }
    }

    /// <summary>Sends the spans that have ended and not yet been sent (for shutdown and tests).</summary>
    public bool Flush(int timeoutMs)
    {
        TracerProvider? provider;
        lock (_lock)
        {
            provider = _provider;
        }

        return provider is null || provider.ForceFlush(timeoutMs);
    }

    /// <summary>Sends what is left and stops.</summary>
    public void Dispose()
    {
        TracerProvider? provider;
        lock (_lock)
        {
            provider = _provider;
            _provider = null;
            _applied = null;
        }

        provider?.Dispose();
    }

    private TracerProvider? Build(TracingConfig config)
    {
        string endpoint = config.OtlpEndpoint!;
        try
        {
            var provider = Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(config.ServiceName,
                    serviceVersion: typeof(TraceExport).Assembly.GetName().Version?.ToString()))
                .AddSource(ProxyActivity.SourceName)
                .SetSampler(new AlwaysOnSampler())
                .AddOtlpExporter(o =>
                {
                    o.Endpoint = new Uri(endpoint);
                    o.Protocol = config.OtlpProtocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                    o.ExportProcessorType = ExportProcessorType.Batch;
                    o.BatchExportProcessorOptions = new BatchExportProcessorOptions<System.Diagnostics.Activity>
                    {
                        ScheduledDelayMilliseconds = config.ExportIntervalMs,
                    };
                })
                .Build();
            Log.ExportStarted(Logger, endpoint, config.OtlpProtocol == OtlpProtocol.Grpc ? "grpc" : "http/protobuf");
            return provider;
        }
        catch (Exception e)
        {
            // The endpoint was validated; anything thrown here is unexpected: logged with its
            // stack, and the balancer goes on forwarding without export.
            Log.ExportFailed(Logger, endpoint, e);
            return null;
        }
    }
}
