using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Http1;
using PipeBalancer.RateLimiting;

namespace PipeBalancer.Tests.RateLimiting;

/// <summary>Limiter configurations and parsed request heads for the rate-limit tests.</summary>
internal static class Limits
{
    public static RateLimitConfig Config(double rate, int burst, string key = "client-ip") =>
        new()
        {
            Name = "test",
            Listeners = ["web"],
            Key = LimitKey.TryParse(key, out var parsed, out string? error) ? parsed! : throw new ArgumentException(error),
            RatePerSecond = rate,
            Burst = burst,
        };

    public static RequestHead Head(string request)
    {
        var head = new RequestHead();
        var status = RequestHeadParser.TryParse(Encoding.ASCII.GetBytes(request), head, HttpLimits.Default, out _, out var reason);
        return status == ParseStatus.Complete ? head : throw new ArgumentException($"{status} {reason}", nameof(request));
    }

    public static byte[] Address(string text)
    {
        var address = System.Net.IPAddress.Parse(text);
        var key = new byte[16];
        int length = PipeBalancer.Routing.KeyExtractor.WriteClientIp(address, key);
        return key[..length];
    }
}
