using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PipeBalancer.Routing;

/// <summary>Where the routing key of a request comes from (<c>routing.key</c>).</summary>
public enum KeySourceKind
{
    /// <summary><c>path</c>: the request target's path, without the query.</summary>
    Path,

    /// <summary><c>path-query</c>: the path with the query, as sent.</summary>
    PathQuery,

    /// <summary><c>header:NAME</c>: the value of a request header field.</summary>
    Header,

    /// <summary><c>cookie:NAME</c>: the value of one cookie.</summary>
    Cookie,

    /// <summary><c>client-ip</c>: the client's address (the key TCP listeners always use).</summary>
    ClientIp,
}

/// <summary>
/// A parsed <c>routing.key</c>. When a request lacks the header or cookie named, its key is the
/// client address instead, so that it still has affinity.
/// </summary>
internal sealed class KeySource
{
    /// <summary>The default key: the URL path.</summary>
    public static readonly KeySource Path = new(KeySourceKind.Path, null);

    private KeySource(KeySourceKind kind, string? name)
    {
        Kind = kind;
        Name = name;
        NameBytes = name is null ? [] : Encoding.ASCII.GetBytes(name);
    }

    /// <summary>Which part of the request is the key.</summary>
    public KeySourceKind Kind { get; }

    /// <summary>The header or cookie name, or null.</summary>
    public string? Name { get; }

    /// <summary>The header or cookie name as ASCII bytes, for matching without strings.</summary>
    public ReadOnlyMemory<byte> NameBytes { get; }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        KeySourceKind.Path => "path",
        KeySourceKind.PathQuery => "path-query",
        KeySourceKind.Header => "header:" + Name,
        KeySourceKind.Cookie => "cookie:" + Name,
        _ => "client-ip",
    };

    /// <summary>Parses an lb.json <c>routing.key</c> value.</summary>
    public static bool TryParse(string text, out KeySource? source, out string? error)
    {
        source = null;
        error = null;
        switch (text)
        {
            case "path":
                source = Path;
                return true;
            case "path-query":
                source = new KeySource(KeySourceKind.PathQuery, null);
                return true;
            case "client-ip":
                source = new KeySource(KeySourceKind.ClientIp, null);
                return true;
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string prefix = colon < 0 ? text : text[..colon];
        if (prefix is "header" or "cookie")
        {
            string name = colon < 0 ? "" : text[(colon + 1)..];
            if (name.Length == 0 || !Http1.HeadParser.IsToken(Encoding.ASCII.GetBytes(name)))
            {
                error = $"{prefix}: needs a name made of token characters (RFC 9110 section 5.6.2), got '{name}'";
                return false;
            }

            source = new KeySource(prefix == "header" ? KeySourceKind.Header : KeySourceKind.Cookie, name);
            return true;
        }

        error = $"unknown key source '{text}'; expected path, path-query, header:NAME, cookie:NAME or client-ip";
        return false;
    }
}

/// <summary>Extracts routing keys from request bytes without building strings.</summary>
internal static class KeyExtractor
{
    /// <summary>Longest client-address key: an IPv6 address.</summary>
    public const int MaxClientIpKeyLength = 16;

    /// <summary>
    /// The key bytes of a request target for <c>path</c> (query cut off) or <c>path-query</c>.
    /// An absolute-form target (<c>http://host/p</c>) is reduced to its path, so a request routes
    /// alike through a forward proxy; an empty path is <c>/</c>.
    /// </summary>
    public static ReadOnlySpan<byte> FromTarget(ReadOnlySpan<byte> target, bool includeQuery)
    {
        if (target.Length > 0 && target[0] != (byte)'/' && target[0] != (byte)'*')
        {
            int scheme = target.IndexOf("://"u8);
            if (scheme > 0)
            {
                var rest = target[(scheme + 3)..];
                int pathStart = rest.IndexOfAny((byte)'/', (byte)'?');
                target = pathStart < 0 ? "/"u8 : rest[pathStart..];
                if (target[0] == (byte)'?')
                {
                    // http://host?q has the path "/" and the query "?q".
                    return includeQuery ? target : "/"u8;
                }
            }
        }

        if (!includeQuery)
        {
            int query = target.IndexOf((byte)'?');
            if (query >= 0)
            {
                target = target[..query];
            }
        }

        return target;
    }

    /// <summary>
    /// The key bytes <paramref name="source"/> names in a parsed request head: the path (with or
    /// without the query), a header field's value or a cookie's value. False when the request has
    /// no such header or cookie, and for <c>client-ip</c>: the caller then uses the client address.
    /// Routing and rate limiting both read their keys here.
    /// </summary>
    public static bool TryFromHead(Http1.RequestHead request, KeySource source, out ReadOnlySpan<byte> key)
    {
        switch (source.Kind)
        {
            case KeySourceKind.Path:
                key = FromTarget(request.Target, includeQuery: false);
                return true;
            case KeySourceKind.PathQuery:
                key = FromTarget(request.Target, includeQuery: true);
                return true;
            case KeySourceKind.Header:
                int field = request.Find(source.NameBytes.Span);
                if (field >= 0)
                {
                    key = request.Value(field);
                    return true;
                }

                break;
            case KeySourceKind.Cookie:
                for (int i = 0; i < request.FieldCount; i++)
                {
                    if (request.Fields[i].Kind == Http1.FieldKind.Cookie && TryGetCookie(request.Value(i), source.NameBytes.Span, out key))
                    {
                        return true;
                    }
                }

                break;
        }

        key = default;
        return false;
    }

    /// <summary>
    /// Finds cookie <paramref name="name"/> in a Cookie field value (<c>a=1; b=2</c>, RFC 6265
    /// section 4.2.1), comparing names case-sensitively as browsers do.
    /// </summary>
    public static bool TryGetCookie(ReadOnlySpan<byte> cookieHeader, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        while (!cookieHeader.IsEmpty)
        {
            int end = cookieHeader.IndexOf((byte)';');
            var pair = (end < 0 ? cookieHeader : cookieHeader[..end]).Trim((byte)' ');
            cookieHeader = end < 0 ? default : cookieHeader[(end + 1)..];
            int eq = pair.IndexOf((byte)'=');
            if (eq > 0 && pair[..eq].TrimEnd((byte)' ').SequenceEqual(name))
            {
                value = pair[(eq + 1)..].Trim((byte)' ');
                if (value.Length >= 2 && value[0] == (byte)'"' && value[^1] == (byte)'"')
                {
                    value = value[1..^1];
                }

                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Writes the client-address key: the 4 bytes of an IPv4 address (also when it arrives
    /// IPv4-mapped on a dual-stack socket) or the 16 bytes of an IPv6 one.
    /// </summary>
    public static int WriteClientIp(IPAddress address, Span<byte> destination)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (!address.TryWriteBytes(destination, out int written))
        {
            throw new ArgumentException("destination too small for an IP address", nameof(destination));
        }

        return written;
    }

    /// <summary>Whether <paramref name="address"/> is usable as a client-address key.</summary>
    public static bool IsIpFamily(IPAddress address) =>
        address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;
}
