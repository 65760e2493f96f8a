using System.Buffers;
using System.Text.Json;
using PipeBalancer.Configuration;

namespace PipeBalancer.Cluster;

/// <summary>
/// The value of the shared backends key: <c>{"backends": [...]}</c>, each entry written as in
/// lb.json with every default filled in. Read back, the entries are judged exactly as lb.json
/// is, against this balancer's own sections (a shared entry with a health override needs the
/// same checks as a file's), so a value this version cannot use is refused whole.
/// </summary>
internal static class SharedBackends
{
    /// <summary>The value for <paramref name="backends"/>.</summary>
    public static byte[] Write(IReadOnlyList<BackendConfig> backends)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * (backends.Count + 1));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("backends");
            foreach (var backend in backends)
            {
                ConfigWriter.WriteObject(json, backend, BackendConfig.Schema, redactSecrets: false);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// <paramref name="local"/> with the backends of <paramref name="value"/>, validated as a
    /// whole configuration; the errors when the value is not usable.
    /// </summary>
    public static ConfigResult Read(BalancerConfig local, ReadOnlyMemory<byte> value)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value);
        }
        catch (JsonException e)
        {
            return new ConfigResult(null, [new ConfigError("$", $"the shared value is not JSON: {e.Message}")], []);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("backends", out var backends))
            {
                return new ConfigResult(null, [new ConfigError("$", "the shared value has no \"backends\" array")], []);
            }

            var buffer = new ArrayBufferWriter<byte>(4096 + value.Length);
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                foreach (var setting in BalancerConfig.Schema.Settings)
                {
                    if (setting.Name == "backends")
                    {
                        json.WritePropertyName("backends");
                        backends.WriteTo(json);
                    }
                    else
                    {
                        setting.Write(json, local, redactSecrets: false);
                    }
                }

                json.WriteEndObject();
            }

            return ConfigLoader.Parse(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }
}
