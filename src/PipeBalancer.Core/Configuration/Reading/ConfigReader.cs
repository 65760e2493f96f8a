using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// Maps JSON onto the configuration records through their declared settings. It reads and
/// applies no rule: what it produces is a draft that the validators then judge.
/// </summary>
internal sealed class ConfigReader(ConfigIssues issues, BalancerConfig root)
{
    public JsonWalker Walker { get; } = new(issues);

    /// <summary>The configuration read so far (for an admin edit, the one in force): an override starts from its sections.</summary>
    public BalancerConfig Root { get; private set; } = root;

    /// <summary>The path of each entry read into a list, by the list's name.</summary>
    public Dictionary<string, List<string>> EntryPaths { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the whole of lb.json.</summary>
    public BalancerConfig ReadRoot(JsonElement e)
    {
        Root = ReadObject(e, "", BalancerConfig.Schema, BalancerConfig.Schema.Defaults);
        return Root;
    }

    /// <summary>
    /// Reads the object <paramref name="e"/> at <paramref name="path"/> over <paramref name="start"/>:
    /// each property given replaces that setting's value. A required property that is missing is
    /// reported and left null. With <paramref name="requireAll"/>, every setting is required.
    /// </summary>
    public T ReadObject<T>(JsonElement e, string path, ConfigSchema<T> schema, T start, bool requireAll = false)
        where T : class
    {
        if (!Walker.ExpectObject(e, path, schema.Names))
        {
            return start;
        }

        var value = start;
        foreach (var setting in schema.Settings.OrderBy(s => s.ReadLast))
        {
            string child = JsonWalker.Child(path, setting.Name);
            if (e.TryGetProperty(setting.Name, out var property))
            {
                Walker.Written.Add(child);
                value = setting.Read(this, property, child, value);
                // A backend's health override starts from the health section read before it.
                if (value is BalancerConfig root)
                {
                    Root = root;
                }
            }
            else if (setting.Required || requireAll)
            {
                Walker.Error(child, "is required");
            }
        }

        return value;
    }

    /// <summary>What was read, for the validators.</summary>
    public ConfigDraft Draft(BalancerConfig config) =>
        new(config, Walker.Written, EntryPaths.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal));
}
