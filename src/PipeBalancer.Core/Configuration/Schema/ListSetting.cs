using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// An array of objects: non-empty unless <see cref="AllowEmpty"/> (<c>listeners</c>, <c>backends</c>
/// must have entries, <c>rateLimits</c> may not). Every entry is read even when an earlier one
/// failed, so that one run reports every error; an entry that is not an object is left out, and
/// the reader remembers each kept entry's path (by the list's own path, so that a list inside a
/// list entry has paths of its own).
/// </summary>
internal sealed class ListSetting<T, TEntry>(string name, ConfigSchema<TEntry> schema, Func<T, IReadOnlyList<TEntry>> get, Func<T, IReadOnlyList<TEntry>, T> set)
    : Setting<T>(name)
    where T : class
    where TEntry : class
{
    public ConfigSchema<TEntry> Schema { get; } = schema;

    /// <summary>Whether an empty array (and no array at all) is valid.</summary>
    public bool AllowEmpty { get; init; }

    /// <summary>Which entries the configuration is printed with (all when null): entries made at run time are left out.</summary>
    public Func<TEntry, bool>? Printed { get; init; }

    // Entries may start from sections of the same object (a backend's health override from
    // the health section), so those are read first.
    public override bool ReadLast => true;

    public override string DocType => "array of objects";

    public override string? DocDefault(T defaults) => AllowEmpty ? "[]" : null;

    // The list's table describes one entry; the objects an entry holds are "name[].child".
    public override IEnumerable<DocumentedSection> Sections(string parent)
    {
        string heading = parent.Length == 0 ? Name : $"{parent}.{Name}";
        var tables = Schema.Document(heading).ToList();
        return tables.Select((t, i) => i == 0 ? t : t with { Heading = heading + "[]" + t.Heading[heading.Length..] });
    }

    public IReadOnlyList<TEntry> Get(T owner) => get(owner);

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        var entries = new List<TEntry>();
        var paths = new List<string>();
        reader.EntryPaths[path] = paths;
        if (value.ValueKind != JsonValueKind.Array)
        {
            reader.Walker.TypeError(path, "an array", value);
            return set(target, entries);
        }

        if (value.GetArrayLength() == 0 && !AllowEmpty)
        {
            reader.Walker.Error(path, "needs at least one entry");
        }

        int i = 0;
        foreach (var element in value.EnumerateArray())
        {
            string entryPath = string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]");
            if (element.ValueKind == JsonValueKind.Object)
            {
                entries.Add(reader.ReadObject(element, entryPath, Schema, Schema.Defaults));
                paths.Add(entryPath);
            }
            else
            {
                reader.Walker.ExpectObject(element, entryPath, Schema.Names);
            }
        }

        // An empty list is the shared empty array, as the records' defaults are: equal configurations stay equal.
        return set(target, entries.Count == 0 ? Array.Empty<TEntry>() : entries);
    }

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        var entries = get(owner);
        for (int i = 0; i < entries.Count; i++)
        {
            SettingChecks.CheckObject(entries[i], Schema, draft.PathOf(path, i), draft, issues, onlyWritten: false);
        }
    }

    public override void Write(Utf8JsonWriter writer, T owner, bool redactSecrets)
    {
        writer.WriteStartArray(Name);
        foreach (var entry in get(owner).Where(e => Printed?.Invoke(e) ?? true))
        {
            ConfigWriter.WriteObject(writer, entry, Schema, redactSecrets);
        }

        writer.WriteEndArray();
    }
}
