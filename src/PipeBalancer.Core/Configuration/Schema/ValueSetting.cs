using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>A setting held in one member of its record, read and written through two delegates.</summary>
/// <typeparam name="T">The record.</typeparam>
/// <typeparam name="TValue">The member's type.</typeparam>
internal abstract class ValueSetting<T, TValue>(string name, Func<T, TValue> get, Func<T, TValue, T> set) : Setting<T>(name)
    where T : class
{
    /// <summary>The value held by <paramref name="owner"/>.</summary>
    public TValue Get(T owner) => get(owner);

    /// <summary><paramref name="owner"/> with the value replaced.</summary>
    public T Set(T owner, TValue value) => set(owner, value);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, T owner, bool redactSecrets)
    {
        var value = get(owner);
        if (value is null)
        {
            return;
        }

        writer.WritePropertyName(Name);
        if (Secret && redactSecrets)
        {
            writer.WriteStringValue(Redacted);
            return;
        }

        WriteValue(writer, value);
    }

    /// <summary>Writes <paramref name="value"/> as a JSON value.</summary>
    protected abstract void WriteValue(Utf8JsonWriter writer, TValue value);
}
