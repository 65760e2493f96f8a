using PipeBalancer.Routing;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// A parsed <c>rateLimits[].key</c>: <c>client-ip</c>, <c>header:NAME</c>, <c>cookie:NAME</c> or
/// <c>path-prefix</c>. Header and cookie names are read by the routing key's parser, so both
/// accept the same names and find them in a request the same way.
/// </summary>
internal sealed class LimitKey : IEquatable<LimitKey>
{
    /// <summary>The default: the client address.</summary>
    public static readonly LimitKey ClientIp = new(LimitKeyKind.ClientIp, null);

    private LimitKey(LimitKeyKind kind, KeySource? source)
    {
        Kind = kind;
        Source = source;
    }

    /// <summary>What the key is.</summary>
    public LimitKeyKind Kind { get; }

    /// <summary>For a header or cookie key, the routing key source that finds it in a request head; else null.</summary>
    public KeySource? Source { get; }

    /// <summary>Parses an lb.json <c>rateLimits[].key</c> value.</summary>
    public static bool TryParse(string text, out LimitKey? key, out string? error)
    {
        key = null;
        error = null;
        switch (text)
        {
            case "client-ip":
                key = ClientIp;
                return true;
            case "path-prefix":
                key = new LimitKey(LimitKeyKind.PathPrefix, null);
                return true;
        }

        if (text.StartsWith("header:", StringComparison.Ordinal) || text.StartsWith("cookie:", StringComparison.Ordinal))
        {
            if (!KeySource.TryParse(text, out var source, out error))
            {
                return false;
            }

            key = new LimitKey(source!.Kind == KeySourceKind.Header ? LimitKeyKind.Header : LimitKeyKind.Cookie, source);
            return true;
        }

        error = $"unknown rate limit key '{text}'; expected client-ip, header:NAME, cookie:NAME or path-prefix";
        return false;
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        LimitKeyKind.ClientIp => "client-ip",
        LimitKeyKind.PathPrefix => "path-prefix",
        _ => Source!.ToString(),
    };

    /// <inheritdoc />
    public bool Equals(LimitKey? other) => other is not null && other.ToString() == ToString();

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LimitKey);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
}
