using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>Free text, absent (null) unless lb.json gives it or the record has a default.</summary>
internal sealed class StringSetting<T>(string name, Func<T, string?> get, Func<T, string?, T> set) : ValueSetting<T, string?>(name, get, set)
    where T : class
{
    public override string DocType => "string";

    public override string? DocDefault(T defaults) => Get(defaults);

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            reader.Walker.TypeError(path, "a string", value);
            return target;
        }

        return Set(target, value.GetString());
    }

    protected override void WriteValue(Utf8JsonWriter writer, string? value) => writer.WriteStringValue(value);
}
