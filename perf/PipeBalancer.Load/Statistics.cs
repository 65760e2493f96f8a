namespace PipeBalancer.Load;

/// <summary>Medians: a noisy machine's outliers move them least.</summary>
internal static class Statistics
{
    /// <summary>The middle value, or the mean of the two middle values; null for none.</summary>
    public static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>
    /// The median over pairs of a / b, taking only pairs where both runs have the value and b is
    /// above zero: runs back to back see the same machine, so their ratio is what counts.
    /// </summary>
    public static double? MedianRatio(IEnumerable<(double? A, double? B)> pairs) =>
        Median(pairs.Where(p => p.A is not null && p.B is > 0).Select(p => p.A!.Value / p.B!.Value));
}
