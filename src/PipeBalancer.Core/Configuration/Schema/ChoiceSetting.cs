using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>One of a fixed set of names, each standing for a value.</summary>
internal sealed class ChoiceSetting<T, TValue>(string name, IReadOnlyList<(string Name, TValue Value)> choices, Func<T, TValue> get, Func<T, TValue, T> set)
    : ValueSetting<T, TValue>(name, get, set)
    where T : class
    where TValue : notnull
{
    public override string DocType => string.Join(@" \| ", choices.Select(c => $"`{c.Name}`"));

    public override string? DocDefault(T defaults) => NameOf(Get(defaults));

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            reader.Walker.TypeError(path, "a string", value);
            return target;
        }

        string text = value.GetString()!;
        foreach (var choice in choices)
        {
            if (choice.Name == text)
            {
                return Set(target, choice.Value);
            }
        }

        reader.Walker.Error(path, $"unknown value \"{text}\"; expected one of {string.Join(", ", choices.Select(c => c.Name))}");
        return target;
    }

    protected override void WriteValue(Utf8JsonWriter writer, TValue value) => writer.WriteStringValue(NameOf(value));

    private string NameOf(TValue value) => choices.First(c => EqualityComparer<TValue>.Default.Equals(c.Value, value)).Name;
}
