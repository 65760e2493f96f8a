using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>A whole number within <c>min..max</c>.</summary>
internal sealed class IntSetting<T>(string name, int min, int max, Func<T, int> get, Func<T, int, T> set) : ValueSetting<T, int>(name, get, set)
    where T : class
{
    public int Min { get; } = min;

    public int Max { get; } = max;

    public override string DocType => string.Create(CultureInfo.InvariantCulture, $"integer {Min}..{Max}");

    public override string? DocDefault(T defaults) => Get(defaults).ToString(CultureInfo.InvariantCulture);

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
        {
            reader.Walker.TypeError(path, string.Create(CultureInfo.InvariantCulture, $"a whole number {Min}..{Max}"), value);
            return target;
        }

        if (number is < int.MinValue or > int.MaxValue)
        {
            // Too large for the model to hold: said here, with the words the range check uses.
            reader.Walker.Error(path, RangeError(number));
            return target;
        }

        return Set(target, (int)number);
    }

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        int value = Get(owner);
        if (value < Min || value > Max)
        {
            issues.Error(path, RangeError(value));
        }
    }

    protected override void WriteValue(Utf8JsonWriter writer, int value) => writer.WriteNumberValue(value);

    private string RangeError(long value) => string.Create(CultureInfo.InvariantCulture, $"must be {Min}..{Max}, got {value}");
}
