using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// Reads lb.json and the admin API's request bodies in three steps: the JSON is walked for its
/// shape (<see cref="JsonWalker"/>), mapped onto the records through their declared settings
/// (<see cref="ConfigReader"/>), then judged by the validators (<see cref="ConfigValidator"/>).
/// Every step adds to one list of errors, each with its JSON path, and a configuration is
/// returned only when that list is empty. The file is walked as a <see cref="JsonDocument"/>
/// rather than bound by the serializer, because the serializer stops at the first wrong type.
/// </summary>
internal static class ConfigLoader
{
    /// <summary>Most backends one balancer routes over.</summary>
    public const int MaxBackends = 10_000;

    /// <summary>Most ring points over all backends (virtualNodes x weight summed): 24 MB of ring.</summary>
    public const long MaxRingPoints = 4_000_000;

    /// <summary>Largest Maglev table: 2 MB.</summary>
    public const int MaxTableSize = RoutingConfig.MaxTableSize;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    public static ConfigResult LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(new ConfigError("$", $"cannot read {path}: {e.Message}"));
        }

        return Parse(text);
    }

    /// <summary>Reads lb.json text.</summary>
    public static ConfigResult Parse(string json) => Read(json, BalancerConfig.Schema.Defaults, (reader, root, issues) =>
    {
        var config = reader.ReadRoot(root);
        var draft = reader.Draft(config);
        config = DerivedDefaults.Apply(config, draft);
        ConfigValidator.Validate(draft with { Config = config }, issues);
        return config;
    });

    /// <summary>
    /// Reads one <c>backends[]</c> entry from <paramref name="json"/> (the admin API's add) and
    /// returns <paramref name="current"/> with it appended. The entry is read and checked exactly
    /// as in lb.json: the same rules, a unique id and address among the backends in force, its
    /// health override over the <c>health</c> section, and the ring size limit. Paths start at <c>$</c>.
    /// </summary>
    public static ConfigResult AddBackend(BalancerConfig current, string json) => Read(json, current, (reader, root, issues) =>
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            reader.Walker.ExpectObject(root, "$", BackendConfig.Schema.Names);
            return current;
        }

        var entry = reader.ReadObject(root, "$", BackendConfig.Schema, BackendConfig.Schema.Defaults);
        var edited = current with { Backends = [.. current.Backends, entry] };
        ConfigValidator.ValidateBackends(EditDraft(reader, edited, current.Backends.Count), issues);
        return edited;
    });

    /// <summary>
    /// Reads <c>{"weight": n}</c> from <paramref name="json"/> and returns <paramref name="current"/>
    /// with backend <paramref name="id"/>'s weight changed, checked as lb.json is.
    /// </summary>
    public static ConfigResult SetWeight(BalancerConfig current, string id, string json) => Read(json, current, (reader, root, issues) =>
    {
        int index = current.Backends.ToList().FindIndex(b => b.Id == id);
        if (index < 0)
        {
            return current;
        }

        var body = new ConfigSchema<BackendConfig>(current.Backends[index], [BackendConfig.Schema["weight"]]);
        var entry = reader.ReadObject(root, "$", body, body.Defaults, requireAll: true);
        var edited = current with { Backends = [.. current.Backends.Select((b, i) => i == index ? entry : b)] };
        ConfigValidator.ValidateBackends(EditDraft(reader, edited, index), issues);
        return edited;
    });

    // The backends of an edit: each at its place in lb.json, except the one the body gave ("$").
    private static ConfigDraft EditDraft(ConfigReader reader, BalancerConfig edited, int bodyIndex)
    {
        var paths = edited.Backends.Select((_, i) => i == bodyIndex ? "$" : string.Create(CultureInfo.InvariantCulture, $"backends[{i}]")).ToList();
        return new ConfigDraft(edited, reader.Walker.Written, new Dictionary<string, IReadOnlyList<string>> { ["backends"] = paths });
    }

    private static ConfigResult Read(string json, BalancerConfig start, Func<ConfigReader, JsonElement, ConfigIssues, BalancerConfig> read)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // JsonException counts lines and bytes from zero; editors count from one.
            string where = string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}");
            return Failed(new ConfigError("$", $"not valid JSON at {where}: {FirstSentence(e.Message)}"));
        }

        using (document)
        {
            var issues = new ConfigIssues();
            var config = read(new ConfigReader(issues, start), document.RootElement, issues);
            return new ConfigResult(issues.Errors.Count == 0 ? config : null, InFileOrder(issues.Errors), InFileOrder(issues.Warnings));
        }
    }

    // The reader and each validator report in their own pass; users read the list as they read
    // the file: by section in the reference's order, then by entry, each keeping the order found.
    private static List<ConfigError> InFileOrder(List<ConfigError> issues) =>
        [.. issues.OrderBy(e => SectionIndex(e.Path)).ThenBy(e => EntryIndex(e.Path))];

    private static int SectionIndex(string path)
    {
        int end = path.IndexOfAny(['.', '[']);
        string section = end < 0 ? path : path[..end];
        return BalancerConfig.Schema.Names.IndexOf(section);
    }

    private static int EntryIndex(string path)
    {
        int open = path.IndexOf('[', StringComparison.Ordinal);
        int close = open < 0 ? -1 : path.IndexOf(']', open);
        return close > open + 1 && int.TryParse(path.AsSpan(open + 1, close - open - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            ? index
            : -1;
    }

    private static ConfigResult Failed(ConfigError error) => new(null, [error], []);

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }
}
