namespace PipeBalancer.Configuration;

/// <summary>
/// Runs every validator over a draft. Each adds what it finds to the one list and none stops
/// at the first problem, so a file's errors all come in one run.
/// </summary>
internal static class ConfigValidator
{
    /// <summary>The whole of lb.json.</summary>
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        SettingChecks.Validate(draft, issues);
        ListenerValidator.Validate(draft, issues);
        AdminValidator.Validate(draft, issues);
        RoutingValidator.Validate(draft, issues);
        BackendValidator.Validate(draft, issues);
        HealthValidator.Validate(draft, issues);
        ProxyProtocolValidator.Validate(draft, issues);
        RateLimitValidator.Validate(draft, issues);
        TracingValidator.Validate(draft, issues);
        DiscoveryValidator.Validate(draft, issues);
        ClusterValidator.Validate(draft, issues);
    }

    /// <summary>
    /// An admin edit of the backends: the backends are judged as in lb.json, against the
    /// sections in force, which are not judged again.
    /// </summary>
    public static void ValidateBackends(ConfigDraft draft, ConfigIssues issues)
    {
        SettingChecks.ValidateBackends(draft, issues);
        BackendValidator.Validate(draft, issues);
        HealthValidator.ValidateOverrides(draft, issues);
        ProxyProtocolValidator.ValidateBackends(draft, issues);
    }
}
