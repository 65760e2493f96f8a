using System.Collections.Immutable;

namespace PipeBalancer.Configuration;

/// <summary>The settings of one configuration record, in the order the reference lists them, with the record's defaults.</summary>
/// <typeparam name="T">The record.</typeparam>
internal sealed class ConfigSchema<T>
    where T : class
{
    public ConfigSchema(T defaults, IReadOnlyList<Setting<T>> settings)
    {
        Defaults = defaults;
        Settings = settings;
        Names = [.. settings.Select(s => s.Name)];
    }

    /// <summary>The value when lb.json says nothing; for a list entry, a blank whose required members are null.</summary>
    public T Defaults { get; }

    /// <summary>Every setting, in the reference's order.</summary>
    public IReadOnlyList<Setting<T>> Settings { get; }

    /// <summary>The JSON names, in the same order (the order "expected one of" lists them in).</summary>
    public ImmutableArray<string> Names { get; }

    /// <summary>This object's table in the reference, under <paramref name="heading"/>, and the tables of the objects it holds.</summary>
    public IEnumerable<DocumentedSection> Document(string heading)
    {
        yield return new DocumentedSection(heading, [.. Settings.Select(s =>
            new DocumentedSetting(s.Name, s.DocType, s.Required ? "required" : s.DocDefault(Defaults) ?? "none"))]);
        foreach (var nested in Settings.SelectMany(s => s.Sections(heading)))
        {
            yield return nested;
        }
    }

    /// <summary>The setting named <paramref name="name"/>.</summary>
    public Setting<T> this[string name] => Settings.First(s => s.Name == name);
}
