namespace PipeBalancer.Load;

/// <summary>Adds a run's table to docs/performance.md, keeping every earlier table.</summary>
internal static class PerformanceDoc
{
    public const string Section = "## All workloads against HAProxy (`./build.sh load`)";

    /// <summary>
    /// The document with <paramref name="report"/> appended at the end of <see cref="Section"/>
    /// (after the tables already there); the section is added at the end when missing.
    /// </summary>
    public static string Append(string document, string report)
    {
        var lines = document.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n').ToList();
        var start = lines.IndexOf(Section);
        if (start < 0)
        {
            lines.Add("");
            lines.Add(Section);
            lines.Add("");
            lines.Add("Tables written by `./build.sh load --write-docs`, oldest first.");
            lines.Add("");
            lines.AddRange(report.TrimEnd('\n').Split('\n'));
            return string.Join('\n', lines) + "\n";
        }

        var end = lines.FindIndex(start + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        if (end < 0)
        {
            end = lines.Count;
        }

        while (end > start + 1 && lines[end - 1].Length == 0)
        {
            end--;
        }

        var insert = new List<string> { "" };
        insert.AddRange(report.TrimEnd('\n').Split('\n'));
        if (end < lines.Count && lines[end].Length > 0)
        {
            insert.Add("");
        }

        lines.InsertRange(end, insert);
        return string.Join('\n', lines) + "\n";
    }
}
