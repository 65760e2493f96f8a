namespace PipeBalancer.Configuration;

/// <summary>One problem found in lb.json: where (a JSON path such as <c>backends[2].weight</c>) and why.</summary>
public sealed record ConfigError(string Path, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Reason}";
}

/// <summary>The outcome of reading lb.json: a config when there were no errors, and every problem found.</summary>
public sealed record ConfigResult(BalancerConfig? Config, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigError> Warnings)
{
    /// <summary>Whether the file can be used.</summary>
    public bool IsValid => Config is not null;
}

/// <summary>Thrown at the edges when a config that must be valid is not; carries every error.</summary>
public sealed class ConfigException(string source, IReadOnlyList<ConfigError> errors)
    : Exception($"{source}: {errors.Count} error(s):{Environment.NewLine}" + string.Join(Environment.NewLine, errors))
{
    /// <summary>Every error, each with its JSON path.</summary>
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
