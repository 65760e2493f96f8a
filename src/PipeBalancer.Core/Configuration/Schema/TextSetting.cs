using System.Text.Json;

namespace PipeBalancer.Configuration;

/// <summary>
/// A value written as a string with a syntax of its own (an address, a key source, a status
/// range): parsed when read, formatted when written, and optionally checked against a range.
/// </summary>
internal sealed class TextSetting<T, TValue>(
    string name,
    string docType,
    TextSetting<T, TValue>.Parser parse,
    Func<TValue, string> format,
    Func<T, TValue?> get,
    Func<T, TValue, T> set)
    : ValueSetting<T, TValue?>(name, get, (owner, value) => set(owner, value!))
    where T : class
{
    /// <summary>Parses <paramref name="text"/>, or says why it cannot (the whole reason, as the user sees it).</summary>
    public delegate bool Parser(string text, out TValue? value, out string? error);

    /// <summary>A value's range: null when it is within, else the reason.</summary>
    public Func<TValue, string?>? Range { get; init; }

    public override string DocType => docType;

    public override string? DocDefault(T defaults) => Get(defaults) is { } value ? format(value) : null;

    public override T Read(ConfigReader reader, JsonElement value, string path, T target)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            reader.Walker.TypeError(path, "a string", value);
            return target;
        }

        if (!parse(value.GetString()!, out var parsed, out string? error))
        {
            reader.Walker.Error(path, error!);
            return target;
        }

        return Set(target, parsed);
    }

    public override void Check(T owner, string path, ConfigDraft draft, ConfigIssues issues)
    {
        if (Range is not null && Get(owner) is { } value && Range(value) is { } error)
        {
            issues.Error(path, error);
        }
    }

    protected override void WriteValue(Utf8JsonWriter writer, TValue? value) => writer.WriteStringValue(format(value!));
}
