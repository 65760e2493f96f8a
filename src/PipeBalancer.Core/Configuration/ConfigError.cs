namespace PipeBalancer.Configuration;

/// <summary>One problem found in lb.json: where (a JSON path such as <c>backends[2].weight</c>) and why.</summary>
/// <param name="Path">The JSON path.</param>
/// <param name="Reason">What is wrong.</param>
internal sealed record ConfigError(string Path, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Reason}";
}
