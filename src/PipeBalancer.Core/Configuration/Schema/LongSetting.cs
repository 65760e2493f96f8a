using System.Globalization;
using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>A whole number within <c>min..max</c> that may pass 2^31 (byte counts).</summary>
internal sealed class LongSetting<T>(string name, long min, long max, Func<T, long> get, Func<T, long, T> set) : ValueSetting<T, long>(name, get, set)
    where T : class
{
    public override string DocType => max == long.MaxValue
        ? string.Create(CultureInfo.InvariantCulture, $"integer >= {min}")
        : string.Create(CultureInfo.InvariantCulture, $"integer {min}..{max}");

    public override string? DocDefault(T defaults) => Get(defaults).ToString(CultureInfo.InvariantCulture);

    private string Expected => string.Create(CultureInfo.InvariantCulture, $"a whole number {min}..{max}");

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
        {
            reader.Walker.TypeError(path, Expected, value);
            return target;
        }

        return Set(target, number);
    }

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        long value = Get(owner);
        if (value < min || value > max)
        {
            issues.Error(path, string.Create(CultureInfo.InvariantCulture, $"must be {Expected}, got number {value}"));
        }
    }

    protected override void WriteValue(Utf8JsonWriter writer, long value) => writer.WriteNumberValue(value);
}
