using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>A switch: <c>true</c> or <c>false</c>.</summary>
internal sealed class BoolSetting<T>(string name, Func<T, bool> get, Func<T, bool, T> set) : ValueSetting<T, bool>(name, get, set)
    where T : class
{
    public override string DocType => "boolean";

    public override string? DocDefault(T defaults) => Get(defaults) ? "true" : "false";

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            reader.Walker.TypeError(path, "true or false", value);
            return target;
        }

        return Set(target, value.GetBoolean());
    }

    protected override void WriteValue(Utf8JsonWriter writer, bool value) => writer.WriteBooleanValue(value);
}
