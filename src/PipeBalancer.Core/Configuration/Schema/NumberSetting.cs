using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>A number (fractions allowed) within a range whose lower end may be excluded.</summary>
internal sealed class NumberSetting<T>(string name, double min, double max, bool exclusiveMin, Func<T, double> get, Func<T, double, T> set)
    : ValueSetting<T, double>(name, get, set)
    where T : class
{
    public override string DocType => exclusiveMin
        ? string.Create(CultureInfo.InvariantCulture, $"number > {min}, <= {max}")
        : string.Create(CultureInfo.InvariantCulture, $"number {min}..{max}");

    public override string? DocDefault(T defaults) => Get(defaults).ToString("R", CultureInfo.InvariantCulture);

    private string Range => string.Create(CultureInfo.InvariantCulture, $"{(exclusiveMin ? "above " : "")}{min} and at most {max}");

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        // TryGetDouble also refuses a number too large for a double (1e400).
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double number) || !double.IsFinite(number))
        {
            reader.Walker.TypeError(path, "a number " + Range, value);
            return target;
        }

        return Set(target, number);
    }

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        double value = Get(owner);
        if (value < min || (exclusiveMin && value == min) || value > max)
        {
            issues.Error(path, string.Create(CultureInfo.InvariantCulture, $"must be {Range}, got {value:R}"));
        }
    }

    protected override void WriteValue(Utf8JsonWriter writer, double value) => writer.WriteNumberValue(value);
}
