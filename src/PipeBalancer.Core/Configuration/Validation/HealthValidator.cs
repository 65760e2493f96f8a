namespace PipeBalancer.Configuration;

/// <summary>Health checks: an origin-form path, and a timeout that fits in the interval (warned about), for the section and each backend's override.</summary>
internal static class HealthValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        Check(draft.Config.Health, "health", draft, issues, isOverride: false);
        ValidateOverrides(draft, issues);
    }

    /// <summary>The backends' overrides only (an admin edit).</summary>
    public static void ValidateOverrides(ConfigDraft draft, ConfigIssues issues)
    {
        var backends = draft.Config.Backends;
        for (int i = 0; i < backends.Count; i++)
        {
            if (backends[i].Health is { } health)
            {
                Check(health, draft.PathOf("backends", i) + ".health", draft, issues, isOverride: true);
            }
        }
    }

    private static void Check(HealthConfig health, string path, ConfigDraft draft, ConfigIssues issues, bool isOverride)
    {
        // An override's path came from the section unless written in it (and was judged there).
        string pathPath = path + ".path";
        if ((!isOverride || draft.IsWritten(pathPath)) && !IsOriginForm(health.Path))
        {
            issues.Error(pathPath, $"must be an origin-form path starting with '/', without spaces or control characters, got \"{health.Path}\"");
        }

        if (health.TimeoutMs > health.IntervalMs)
        {
            issues.Warn(path + ".timeoutMs", "is longer than intervalMs; checks of one backend never overlap, so the interval stretches");
        }
    }

    private static bool IsOriginForm(string path) =>
        path.Length > 0 && path[0] == '/' && !path.Any(c => c <= ' ' || c >= 0x7f);
}
