using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// Walks lb.json (or an admin request body) for its shape alone: JSON paths, types, unknown
/// and repeated property names with a suggestion for a misspelt one. It applies no rule of the
/// balancer; it records which properties were written, for the checks that care.
/// </summary>
internal sealed class JsonWalker(ConfigIssues issues)
{
    /// <summary>The path of every property present, e.g. <c>backends[0].health.rise</c>.</summary>
    public HashSet<string> Written { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The path of <paramref name="name"/> inside <paramref name="path"/>. lb.json's root is the
    /// empty path, so its members read <c>routing.key</c>; a request body's root is <c>$</c>.
    /// </summary>
    public static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    public void Error(string path, string reason) => issues.Error(path.Length == 0 ? "$" : path, reason);

    /// <summary>Reports that the value at <paramref name="path"/> is not <paramref name="expected"/>.</summary>
    public void TypeError(string path, string expected, JsonElement value) => Error(path, $"must be {expected}, got {Describe(value)}");

    /// <summary>
    /// Whether <paramref name="e"/> is an object; reports each property that appears twice or
    /// is not among <paramref name="known"/> (the reader goes on with the known ones).
    /// </summary>
    public bool ExpectObject(JsonElement e, string path, IReadOnlyList<string> known)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            TypeError(path, "an object", e);
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in e.EnumerateObject())
        {
            string where = Child(path, property.Name);
            if (!seen.Add(property.Name))
            {
                Error(where, "appears twice in the same object");
            }
            else if (!known.Contains(property.Name))
            {
                string? guess = Closest(property.Name, known);
                Error(where, guess is null
                    ? $"unknown property; expected one of {string.Join(", ", known)}"
                    : $"unknown property; did you mean '{guess}'?");
            }
        }

        return true;
    }

    /// <summary>A value as an error message shows it: <c>string "2"</c>, <c>number 8080</c>, <c>an array</c>.</summary>
    public static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"string \"{e.GetString()}\"",
        JsonValueKind.Number => "number " + e.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => "boolean " + e.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    // Suggests the known name closest to a misspelt one (Levenshtein distance at most 2, or a
    // case-only difference), so "virtualnodes" and "algoritm" point at the fix.
    private static string? Closest(string name, IReadOnlyList<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in known)
        {
            int distance = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : Levenshtein(name, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= 2 ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
