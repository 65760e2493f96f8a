namespace PipeBalancer.Configuration;

/// <summary>
/// A table of the configuration reference (docs/configuration.md) as the settings declare it:
/// the heading it sits under (<c>health</c>, <c>listeners[].tls</c>) and one row per setting.
/// A test holds the reference to these, so the two cannot drift apart.
/// </summary>
/// <param name="Heading">The section's name in the reference's heading.</param>
/// <param name="Rows">Each setting: name, type and default as the reference writes them.</param>
internal sealed record DocumentedSection(string Heading, IReadOnlyList<DocumentedSetting> Rows)
{
    /// <summary>Every table of the reference, from the root's declarations down.</summary>
    public static IEnumerable<DocumentedSection> All() => BalancerConfig.Schema.Settings.SelectMany(s => s.Sections(""));
}

/// <summary>One row of a reference table.</summary>
/// <param name="Name">The JSON property.</param>
/// <param name="Type">Its type and range, e.g. <c>integer 1..1000</c>.</param>
/// <param name="Default">Its default as written in the reference, <c>required</c>, or <c>none</c>.</param>
internal sealed record DocumentedSetting(string Name, string Type, string Default);
