namespace PipeBalancer.Configuration;

/// <summary>
/// Checks every value against the range its setting declares, walking the records through the
/// same declarations the reader used. Within an override only the properties written there are
/// checked; the others are the section's, checked where they were written.
/// </summary>
internal static class SettingChecks
{
    /// <summary>Every section and entry of the configuration.</summary>
    public static void Validate(ConfigDraft draft, ConfigIssues issues) =>
        CheckObject(draft.Config, BalancerConfig.Schema, "", draft, issues, onlyWritten: false);

    /// <summary>The backends only (an admin edit: the sections in force are not judged again).</summary>
    public static void ValidateBackends(ConfigDraft draft, ConfigIssues issues) =>
        BalancerConfig.Schema["backends"].Check(draft.Config, "backends", draft, issues);

    public static void CheckObject<T>(T value, ConfigSchema<T> schema, string path, ConfigDraft draft, ConfigIssues issues, bool onlyWritten)
        where T : class
    {
        foreach (var setting in schema.Settings)
        {
            string child = JsonWalker.Child(path, setting.Name);
            if (!onlyWritten || draft.IsWritten(child))
            {
                setting.Check(value, child, draft, issues);
            }
        }
    }
}
