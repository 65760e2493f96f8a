using System.IO.Hashing;
using System.Net;
using Microsoft.AspNetCore.Http;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Admin;

/// <summary>
/// <c>admin.rateLimitPerSecond</c>: each client address may make that many requests a second,
/// as many at once (a token bucket refilled continuously), with no queue; beyond that a 429
/// with <c>Retry-After: 1</c>. Health probes (<c>/healthz</c>, <c>/readyz</c>) are never
/// limited. The buckets are the data plane's fixed table (<see cref="BucketTable"/>): a bucket
/// is refilled by the request that reads it, so nothing runs while no request comes (ASP.NET
/// Core's partitioned limiter, used here before, woke the thread pool ten times a second per
/// limiter, on an idle balancer too).
/// </summary>
internal sealed class AdminRateLimit
{
    // Admin clients are a few operators, dashboards and scrapers: 1,024 addresses counted at
    // once; beyond that the table forgets idle ones first (BucketTable).
    private const int Capacity = 1024;

    private readonly BucketTable _table = new(Capacity);
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly TokenRate _rate;
    private readonly string _detail;

    /// <summary>A limit of <paramref name="perSecond"/> requests a second per client address (at least 1).</summary>
    public AdminRateLimit(int perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        _time = time;
        _epoch = time.GetTimestamp();
        _rate = TokenRate.Of(perSecond, perSecond, time.TimestampFrequency);
        _detail = $"more than {perSecond} admin requests a second from this address (admin.rateLimitPerSecond)";
    }

    /// <summary>The middleware: lets <paramref name="next"/> run, or answers 429.</summary>
    public RequestDelegate Wrap(RequestDelegate next) => context =>
        context.Request.Path.Value is "/healthz" or "/readyz" || TryTake(context.Connection.RemoteIpAddress)
            ? next(context)
            : RefuseAsync(context);

    /// <summary>Takes a token of <paramref name="client"/>'s bucket; false when it has none.</summary>
    public bool TryTake(IPAddress? client)
    {
        client ??= IPAddress.None;
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out int length);
        long now = _time.GetTimestamp() - _epoch + 1;
        return _table.Take(XxHash3.HashToUInt64(bytes[..length]), now, _rate.Interval, _rate.Tolerance) == 0;
    }

    private Task RefuseAsync(HttpContext context)
    {
        // The next token is at most one interval away, which is at most a second.
        context.Response.Headers.RetryAfter = "1";
        return Problem.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", _detail);
    }
}
