using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// An OTLP/HTTP trace endpoint (Kestrel on 127.0.0.1 port 0, <c>POST /v1/traces</c>) that decodes
/// each protobuf <c>ExportTraceServiceRequest</c> by hand (only the fields the tests look at:
/// the protobuf wire format is varints and length-prefixed fields) and keeps the spans.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The URL to give <c>tracing.otlpEndpoint</c>.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Every span received so far.</summary>
    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    /// <summary>Export requests received.</summary>
    public int Requests => Volatile.Read(ref _requests);

    private int _requests;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", receiver.ReceiveAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Endpoint = address.TrimEnd('/') + "/v1/traces";
        return receiver;
    }

    /// <summary>Waits until a span of <paramref name="traceId"/> arrived, and returns the first.</summary>
    public async Task<ReceivedSpan> SpanOfTraceAsync(string traceId)
    {
        await Eventually.Until(() => Spans.Any(s => s.TraceId == traceId), seconds: 20);
        return Spans.First(s => s.TraceId == traceId);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        foreach (var span in Decode(body.ToArray()))
        {
            Spans.Enqueue(span);
        }

        Interlocked.Increment(ref _requests);
        // An empty ExportTraceServiceResponse.
        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = 200;
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    private static List<ReceivedSpan> Decode(byte[] message)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, resourceSpans) in Fields(message))
        {
            if (field != 1)
            {
                continue;
            }

            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            string service = "";
            foreach (var (f, value) in Fields(resourceSpans.Bytes))
            {
                if (f == 1)
                {
                    // Resource { repeated KeyValue attributes = 1; }
                    var attributes = Attributes(value.Bytes, 1);
                    service = attributes.TryGetValue("service.name", out var name) ? (string)name : "";
                }
                else if (f == 2)
                {
                    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
                    string scope = "";
                    foreach (var (g, item) in Fields(value.Bytes))
                    {
                        if (g == 1)
                        {
                            scope = Fields(item.Bytes).Where(x => x.Field == 1).Select(x => Encoding.UTF8.GetString(x.Value.Bytes)).FirstOrDefault() ?? "";
                        }
                        else if (g == 2)
                        {
                            spans.Add(Span(service, scope, item.Bytes));
                        }
                    }
                }
            }
        }

        return spans;
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
    //        SpanKind kind = 6; repeated KeyValue attributes = 9; Status status = 15; }
    private static ReceivedSpan Span(string service, string scope, byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0, status = 0;
        foreach (var (f, value) in Fields(span))
        {
            switch (f)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Bytes); break;
                case 2: spanId = Convert.ToHexStringLower(value.Bytes); break;
                case 4: parent = Convert.ToHexStringLower(value.Bytes); break;
                case 5: name = Encoding.UTF8.GetString(value.Bytes); break;
                case 6: kind = (int)value.Number; break;
                case 15:
                    // Status { string message = 2; StatusCode code = 3; }
                    status = (int)(Fields(value.Bytes).Where(x => x.Field == 3).Select(x => x.Value.Number).FirstOrDefault());
                    break;
            }
        }

        return new ReceivedSpan(service, scope, traceId, spanId, parent, name, kind, status, Attributes(span, 9));
    }

    // KeyValue { string key = 1; AnyValue value = 2; }
    // AnyValue { oneof: string 1, bool 2, int64 3, double 4 }
    private static Dictionary<string, object> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, object>();
        foreach (var (f, keyValue) in Fields(message))
        {
            if (f != field)
            {
                continue;
            }

            string key = "";
            object value = "";
            foreach (var (g, part) in Fields(keyValue.Bytes))
            {
                if (g == 1)
                {
                    key = Encoding.UTF8.GetString(part.Bytes);
                }
                else if (g == 2)
                {
                    foreach (var (h, any) in Fields(part.Bytes))
                    {
                        value = h switch
                        {
                            1 => Encoding.UTF8.GetString(any.Bytes),
                            2 => any.Number != 0,
                            3 => (long)any.Number,
                            4 => BitConverter.UInt64BitsToDouble(any.Number),
                            _ => value,
                        };
                    }
                }
            }

            attributes[key] = value;
        }

        return attributes;
    }

    private readonly record struct WireValue(ulong Number, byte[] Bytes);

    // Each field of a message: its number and its value (a varint or fixed number, or the bytes of
    // a length-delimited field).
    private static List<(int Field, WireValue Value)> Fields(byte[] message)
    {
        var fields = new List<(int, WireValue)>();
        int i = 0;
        while (i < message.Length)
        {
            ulong tag = Varint(message, ref i);
            int field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    fields.Add((field, new WireValue(Varint(message, ref i), [])));
                    break;
                case 1:
                    fields.Add((field, new WireValue(BitConverter.ToUInt64(message, i), [])));
                    i += 8;
                    break;
                case 2:
                    int length = (int)Varint(message, ref i);
                    fields.Add((field, new WireValue(0, message[i..(i + length)])));
                    i += length;
                    break;
                case 5:
                    fields.Add((field, new WireValue(BitConverter.ToUInt32(message, i), [])));
                    i += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7} is not used by OTLP");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] message, ref int i)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = message[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
