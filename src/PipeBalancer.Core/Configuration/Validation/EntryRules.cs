namespace PipeBalancer.Configuration;

/// <summary>Rules shared by listeners and backends: the alphabet of names and ids, and which values must be unique.</summary>
internal static class EntryRules
{
    /// <summary>Checks a listener name or backend id; false (with the error) when it is not 1..64 safe characters.</summary>
    public static bool CheckName(string? value, string path, ConfigIssues issues)
    {
        if (value is null)
        {
            return false;
        }

        // Ids end up in metric labels, log lines and admin URLs: keep them to a safe alphabet.
        bool valid = value.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(value[0]) &&
            value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        if (!valid)
        {
            issues.Error(path, $"must be 1..64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit, got \"{value}\"");
        }

        return valid;
    }

    /// <summary>Reports a value seen before in the same list: "duplicate id 's1' (also backends[0])".</summary>
    public static void CheckUnique<TKey>(Dictionary<TKey, string> seen, TKey key, string entryPath, string property, string shown, ConfigIssues issues)
        where TKey : notnull
    {
        if (!seen.TryAdd(key, entryPath))
        {
            issues.Error(JsonWalker.Child(entryPath, property), $"duplicate {property} '{shown}' (also {seen[key]})");
        }
    }

    /// <summary>Addresses compare by what they reach: IP text is canonicalised, names are case-blind.</summary>
    public static (string, int) Normalize(HostPort address) =>
        (address.IPAddress?.ToString() ?? address.Host.ToLowerInvariant(), address.Port);
}
