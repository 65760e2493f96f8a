namespace PipeBalancer.Configuration;

/// <summary>The one list of errors (and of warnings) that reading and every validator add to.</summary>
internal sealed class ConfigIssues
{
    public List<ConfigError> Errors { get; } = [];

    public List<ConfigError> Warnings { get; } = [];

    public void Error(string path, string reason) => Errors.Add(new ConfigError(path, reason));

    public void Warn(string path, string reason) => Warnings.Add(new ConfigError(path, reason));
}
