using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// Writes the configuration in force as lb.json, every default filled in (as <c>nginx -T</c>
/// prints what nginx runs with). Read back, the output gives an equal configuration. Secrets
/// (settings declared secret: <c>admin.token</c>) are written as <c>"(redacted)"</c> when asked,
/// which no longer loads: a printed configuration cannot be applied with a fake token.
/// Written with <see cref="Utf8JsonWriter"/> from the settings' declarations: no reflection
/// (Native AOT).
/// </summary>
internal static class ConfigWriter
{
    /// <summary>Writes <paramref name="config"/> as one JSON object.</summary>
    public static void Write(BalancerConfig config, Utf8JsonWriter writer, bool redactSecrets) =>
        WriteObject(writer, config, BalancerConfig.Schema, redactSecrets);

    /// <summary>The same, as indented text.</summary>
    public static string ToJson(BalancerConfig config, bool redactSecrets)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            Write(config, writer, redactSecrets);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void WriteObject<T>(Utf8JsonWriter writer, T value, ConfigSchema<T> schema, bool redactSecrets)
        where T : class
    {
        writer.WriteStartObject();
        foreach (var setting in schema.Settings)
        {
            setting.Write(writer, value, redactSecrets);
        }

        writer.WriteEndObject();
    }
}
