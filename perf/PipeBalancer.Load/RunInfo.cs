namespace PipeBalancer.Load;

/// <summary>What a table must say about where and on what it was measured.</summary>
internal sealed record RunInfo(
    DateTime StartedUtc,
    string Commit,
    string Build,
    int Processors,
    string CpuModel,
    string Kernel,
    string Tools,
    LoadOptions Options)
{
    public string Timestamp => StartedUtc.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC";
}
