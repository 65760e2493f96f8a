using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// A nested object: a section of lb.json, a listener's <c>tls</c>, a backend's <c>health</c>.
/// It is read over a starting value (a section's defaults, or for an override the section it
/// overrides), so only the properties given change.
/// </summary>
internal sealed class ObjectSetting<T, TChild>(string name, ConfigSchema<TChild> schema, Func<T, TChild?> get, Func<T, TChild, T> set, Func<ConfigReader, TChild> start)
    : Setting<T>(name)
    where T : class
    where TChild : class
{
    public ConfigSchema<TChild> Schema { get; } = schema;

    /// <summary>
    /// Whether the object overrides another field by field (a backend's health over the
    /// <c>health</c> section): only the properties written in it are checked here, the others
    /// are checked where they were written.
    /// </summary>
    public bool Overrides { get; init; }

    public override string DocType => "object";

    public override string? DocDefault(T defaults) => null;

    // An override is documented as one row pointing at the section it overrides.
    public override IEnumerable<DocumentedSection> Sections(string parent) =>
        Overrides ? [] : Schema.Document(parent.Length == 0 ? Name : $"{parent}.{Name}");

    public override T Read(ConfigReader reader, JsonElement value, string path, T target) =>
        set(target, reader.ReadObject(value, path, Schema, start(reader)));

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        if (get(owner) is { } child)
        {
            SettingChecks.CheckObject(child, Schema, path, draft, issues, onlyWritten: Overrides);
        }
    }

    public override void Write(Utf8JsonWriter writer, T owner, bool redactSecrets)
    {
        if (get(owner) is { } child)
        {
            writer.WritePropertyName(Name);
            ConfigWriter.WriteObject(writer, child, Schema, redactSecrets);
        }
    }
}
