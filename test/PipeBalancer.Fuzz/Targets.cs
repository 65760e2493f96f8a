namespace PipeBalancer.Fuzz;

/// <summary>A check of a parser's invariants on one input; throws when one is broken.</summary>
internal delegate void Check(ReadOnlySpan<byte> input);

/// <summary>The fuzz targets by name.</summary>
internal static class Targets
{
    public static IReadOnlyList<string> Names { get; } = ["request", "response", "chunked"];

    public static Check? Find(string name) => name switch
    {
        "request" => RequestHeadChecks.Check,
        "response" => ResponseHeadChecks.Check,
        "chunked" => ChunkedBodyChecks.Check,
        _ => null,
    };
}
