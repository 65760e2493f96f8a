namespace PipeBalancer.Configuration;

/// <summary>The outcome of reading lb.json: a config when there were no errors, and every problem found.</summary>
/// <param name="Config">The configuration, or null when there was an error.</param>
/// <param name="Errors">Every error, each with its JSON path.</param>
/// <param name="Warnings">Settings accepted but worth a look.</param>
internal sealed record ConfigResult(BalancerConfig? Config, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigError> Warnings)
{
    /// <summary>Whether the file can be used.</summary>
    public bool IsValid => Config is not null;
}
