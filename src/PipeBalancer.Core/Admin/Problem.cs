using System.Text.Json;
using Microsoft.AspNetCore.Http;
using PipeBalancer.Configuration;

namespace PipeBalancer.Admin;

/// <summary>RFC 7807 problem details, the body of every admin API error.</summary>
internal static class Problem
{
    public const string ContentType = "application/problem+json";

    /// <summary>Writes a problem with <paramref name="status"/>, a title and a detail, plus config errors when there are any.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail, IReadOnlyList<ConfigError>? errors = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "about:blank");
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("instance", context.Request.Path.Value);
            if (errors is { Count: > 0 })
            {
                json.WriteStartArray("errors");
                foreach (var e in errors)
                {
                    json.WriteStartObject();
                    json.WriteString("path", e.Path);
                    json.WriteString("reason", e.Reason);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
