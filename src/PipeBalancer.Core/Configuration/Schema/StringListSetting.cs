using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>An array of strings. An item that is not a string stays in the list as null, so that later items keep their index (and path).</summary>
internal sealed class StringListSetting<T>(string name, string expected, Func<T, IReadOnlyList<string>> get, Func<T, IReadOnlyList<string>, T> set)
    : ValueSetting<T, IReadOnlyList<string>>(name, get, set)
    where T : class
{
    public override string DocType => "array of strings";

    public override string? DocDefault(T defaults) => "[" + string.Join(", ", Get(defaults).Select(i => $"\"{i}\"")) + "]";

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            reader.Walker.TypeError(path, expected, value);
            return target;
        }

        var items = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                reader.Walker.TypeError(string.Create(CultureInfo.InvariantCulture, $"{path}[{items.Count}]"), "a string", item);
            }

            items.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : null!);
        }

        return Set(target, items);
    }

    protected override void WriteValue(Utf8JsonWriter writer, IReadOnlyList<string> value)
    {
        writer.WriteStartArray();
        foreach (string item in value)
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }
}
