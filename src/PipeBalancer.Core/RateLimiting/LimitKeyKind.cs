namespace PipeBalancer.RateLimiting;

/// <summary>What a rate limiter counts requests by (<c>rateLimits[].key</c>).</summary>
public enum LimitKeyKind
{
    /// <summary><c>client-ip</c>: the client address, grouped by the limiter's IPv4 and IPv6 prefix lengths.</summary>
    ClientIp,

    /// <summary><c>header:NAME</c>: the value of a request header field.</summary>
    Header,

    /// <summary><c>cookie:NAME</c>: the value of one cookie.</summary>
    Cookie,

    /// <summary><c>path-prefix</c>: the first segments of the request path.</summary>
    PathPrefix,
}
