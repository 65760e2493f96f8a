namespace PipeBalancer.RateLimiting;

/// <summary>A rate and burst in the ticks a <see cref="BucketTable"/> counts: ticks per token, and burst x that.</summary>
internal readonly record struct TokenRate(long Interval, long Tolerance)
{
    // Far enough from overflow that now + tolerance + interval stays a valid time for centuries.
    private const long Ceiling = long.MaxValue / 8;

    /// <summary>The ticks of <paramref name="ratePerSecond"/> tokens a second and a bucket of <paramref name="burst"/>, for a clock of <paramref name="frequency"/> ticks a second.</summary>
    public static TokenRate Of(double ratePerSecond, int burst, long frequency)
    {
        double interval = Math.Clamp(Math.Round(frequency / ratePerSecond), 1, Ceiling);
        return new TokenRate((long)interval, (long)Math.Min(interval * burst, Ceiling));
    }
}
