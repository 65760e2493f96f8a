using System.IO.Hashing;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Http1;
using PipeBalancer.Routing;

namespace PipeBalancer.RateLimiting;

/// <summary>
/// One <c>rateLimits[]</c> entry at run time: finds a request's key in its parsed head (no
/// strings, nothing allocated), lets allow-listed keys through, picks the key's rate (an
/// override's or the limiter's) and takes a token from the key's bucket. Limits are per
/// balancer instance: several instances each allow the full rate.
/// </summary>
internal sealed class RateLimiter
{
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly long _frequency;
    private readonly TokenRate[] _rates;
    private readonly AddressRange[] _allowAddresses;
    private readonly byte[][] _allowValues;
    private readonly AddressRange[][] _overrideAddresses;
    private readonly byte[][][] _overrideValues;
    private long _allowed;
    private long _limited;

    /// <summary>Builds the limiter of <paramref name="config"/> (already validated) on <paramref name="time"/>.</summary>
    public RateLimiter(RateLimitConfig config, TimeProvider time)
    {
        Config = config;
        _time = time;
        _epoch = time.GetTimestamp();
        _frequency = time.TimestampFrequency;
        Table = new BucketTable(config.Capacity);
        bool byAddress = config.Key.Kind == LimitKeyKind.ClientIp;
        _rates = [TokenRate.Of(config.RatePerSecond, config.Burst, _frequency), .. config.Overrides.Select(o => TokenRate.Of(o.RatePerSecond, o.Burst, _frequency))];
        _allowAddresses = byAddress ? [.. config.Allow.Select(Range)] : [];
        _allowValues = byAddress ? [] : [.. config.Allow.Select(Encoding.UTF8.GetBytes)];
        _overrideAddresses = [.. config.Overrides.Select(o => byAddress ? o.Match.Select(Range).ToArray() : [])];
        _overrideValues = [.. config.Overrides.Select(o => byAddress ? [] : o.Match.Select(Encoding.UTF8.GetBytes).ToArray())];
    }

    /// <summary>Its configuration.</summary>
    public RateLimitConfig Config { get; }

    /// <summary>The buckets.</summary>
    public BucketTable Table { get; }

    /// <summary>Requests let through (allow-listed ones included).</summary>
    public long Allowed => Interlocked.Read(ref _allowed);

    /// <summary>Requests (or TCP connections) refused.</summary>
    public long Limited => Interlocked.Read(ref _limited);

    /// <summary>
    /// Takes a token for the request <paramref name="request"/> from the client at
    /// <paramref name="clientAddress"/> (the data plane's client-address key: 4 or 16 bytes).
    /// Returns 0 when it may pass, else the seconds until its key has a token again (Retry-After).
    /// A request without the header or cookie the limiter counts by is counted by its client
    /// address, so that leaving it out does not escape the limit.
    /// </summary>
    public int Check(RequestHead request, ReadOnlySpan<byte> clientAddress)
    {
        ReadOnlySpan<byte> key;
        switch (Config.Key.Kind)
        {
            case LimitKeyKind.ClientIp:
                return CheckAddress(clientAddress);
            case LimitKeyKind.PathPrefix:
                key = PathPrefix(KeyExtractor.FromTarget(request.Target, includeQuery: false), Config.PathSegments);
                break;
            default:
                if (!KeyExtractor.TryFromHead(request, Config.Key.Source!, out key))
                {
                    return CheckAddress(clientAddress);
                }

                break;
        }

        for (int i = 0; i < _allowValues.Length; i++)
        {
            if (key.SequenceEqual(_allowValues[i]))
            {
                return Allow();
            }
        }

        int rate = 0;
        for (int i = 0; i < _overrideValues.Length && rate == 0; i++)
        {
            foreach (var value in _overrideValues[i])
            {
                if (key.SequenceEqual(value))
                {
                    rate = i + 1;
                    break;
                }
            }
        }

        // Values and addresses hash with different seeds: a header value equal to an address's bytes is another key.
        return Take(XxHash3.HashToUInt64(key, 2L * rate), rate);
    }

    /// <summary>Takes a token for the client address <paramref name="clientAddress"/> (4 or 16 bytes): what a TCP listener asks at accept.</summary>
    public int CheckAddress(ReadOnlySpan<byte> clientAddress)
    {
        for (int i = 0; i < _allowAddresses.Length; i++)
        {
            if (_allowAddresses[i].Contains(clientAddress))
            {
                return Allow();
            }
        }

        int rate = 0;
        for (int i = 0; i < _overrideAddresses.Length && rate == 0; i++)
        {
            foreach (var range in _overrideAddresses[i])
            {
                if (range.Contains(clientAddress))
                {
                    rate = i + 1;
                    break;
                }
            }
        }

        // The key is the address's network: its first ipv4Prefix or ipv6Prefix bits.
        Span<byte> network = stackalloc byte[16];
        network = network[..clientAddress.Length];
        AddressRange.MaskTo(clientAddress, clientAddress.Length == 4 ? Config.Ipv4Prefix : Config.Ipv6Prefix, network);
        return Take(XxHash3.HashToUInt64(network, (2L * rate) + 1), rate);
    }

    /// <summary>The first <paramref name="segments"/> segments of <paramref name="path"/> (<c>/api/v1/users</c>, 2: <c>/api/v1</c>), without a trailing slash.</summary>
    public static ReadOnlySpan<byte> PathPrefix(ReadOnlySpan<byte> path, int segments)
    {
        int seen = 0;
        for (int i = 1; i < path.Length; i++)
        {
            if (path[i] == (byte)'/' && ++seen == segments)
            {
                return path[..i];
            }
        }

        return path;
    }

    private int Allow()
    {
        Interlocked.Increment(ref _allowed);
        return 0;
    }

    private int Take(ulong hash, int rate)
    {
        var tokens = _rates[rate];
        long now = _time.GetTimestamp() - _epoch + 1;
        long wait = Table.Take(hash, now, tokens.Interval, tokens.Tolerance);
        if (wait == 0)
        {
            return Allow();
        }

        Interlocked.Increment(ref _limited);
        return (int)Math.Clamp((wait + _frequency - 1) / _frequency, 1, int.MaxValue);
    }

    private static AddressRange Range(string text) =>
        AddressRange.TryParse(text, out var range, out string? error) ? range : throw new ArgumentException(error, nameof(text));
}
