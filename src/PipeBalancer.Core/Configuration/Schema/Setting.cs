using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// One property of a configuration object (a section of lb.json or an entry of one of its
/// lists): its JSON name, how its value is read, its range, how it is written back, and what
/// the reference documents as its type and default. The records declare theirs beside their
/// properties; the reader, the range check, the writer and the documentation test all walk
/// the same declarations, so a setting is described once.
/// </summary>
/// <typeparam name="T">The record that holds the setting.</typeparam>
internal abstract class Setting<T>(string name)
    where T : class
{
    /// <summary>The property's name in lb.json.</summary>
    public string Name { get; } = name;

    /// <summary>Whether lb.json must give it (an entry's id, name or address).</summary>
    public bool Required { get; init; }

    /// <summary>Whether the value is a secret, replaced when the configuration is printed for others to read.</summary>
    public bool Secret { get; init; }

    /// <summary>Whether an object's other settings are read first (a list whose entries depend on a section).</summary>
    public virtual bool ReadLast => false;

    /// <summary>The type as the reference writes it, e.g. <c>integer 1..1000</c>.</summary>
    public abstract string DocType { get; }

    /// <summary>The default as the reference writes it, or null when there is none.</summary>
    public abstract string? DocDefault(T defaults);

    /// <summary>
    /// Reads <paramref name="value"/> into <paramref name="target"/>. Only the JSON shape is
    /// judged here (a wrong type, an unknown name); a value that cannot be read leaves the
    /// target as it was, so that the rest of the file can still be checked.
    /// </summary>
    public abstract T Read(ConfigReader reader, JsonElement value, string path, T target);

    /// <summary>Checks the value held by <paramref name="owner"/> against the setting's range, adding to <paramref name="issues"/>.</summary>
    public virtual void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
    }

    /// <summary>Writes the property (name and value) held by <paramref name="owner"/>; nothing when it has no value.</summary>
    public abstract void Write(Utf8JsonWriter writer, T owner, bool redactSecrets);

    /// <summary>The reference's tables for the objects this setting holds (none for a plain value).</summary>
    /// <param name="parent">The heading of the table the setting is a row of ("" at the root).</param>
    public virtual IEnumerable<DocumentedSection> Sections(string parent) => [];

    /// <summary>What a secret is printed as.</summary>
    public const string Redacted = "(redacted)";
}
