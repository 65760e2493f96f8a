using System.Globalization;

namespace PipeBalancer.Configuration;

/// <summary>
/// A configuration as read, before any rule was applied: the validators judge it, and it is
/// used only when they found nothing. A required member that could not be read is null here.
/// </summary>
/// <param name="Config">The values read; what lb.json does not give has its default.</param>
/// <param name="Written">The JSON path of every property present.</param>
/// <param name="EntryPaths">The JSON path of each list entry, by list name, when it is not <c>name[i]</c>.</param>
internal sealed record ConfigDraft(BalancerConfig Config, IReadOnlySet<string> Written, IReadOnlyDictionary<string, IReadOnlyList<string>> EntryPaths)
{
    /// <summary>The path of entry <paramref name="index"/> of list <paramref name="list"/>, e.g. <c>backends[2]</c>, or <c>$</c> for the body of an admin call.</summary>
    public string PathOf(string list, int index) =>
        EntryPaths.TryGetValue(list, out var paths) && index < paths.Count
            ? paths[index]
            : string.Create(CultureInfo.InvariantCulture, $"{list}[{index}]");

    /// <summary>Whether the property at <paramref name="path"/> was given.</summary>
    public bool IsWritten(string path) => Written.Contains(path);
}
