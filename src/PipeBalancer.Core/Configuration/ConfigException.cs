namespace PipeBalancer.Configuration;

/// <summary>Thrown at the edges when a config that must be valid is not; carries every error.</summary>
internal sealed class ConfigException(string source, IReadOnlyList<ConfigError> errors)
    : Exception($"{source}: {errors.Count} error(s):{Environment.NewLine}" + string.Join(Environment.NewLine, errors))
{
    /// <summary>Every error, each with its JSON path.</summary>
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
