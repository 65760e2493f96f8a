using System.Globalization;

namespace PipeBalancer.Configuration;

/// <summary>The <c>health</c> section: how backends are checked.</summary>
internal sealed record HealthConfig
{
    /// <summary>The defaults: checks on, rise 2 and fall 3 as HAProxy's.</summary>
    public static readonly HealthConfig Default = new();

    private const int Hour = 3600 * 1000;

    /// <summary>Whether backends are checked at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The path requested.</summary>
    public string Path { get; init; } = "/health";

    /// <summary>GET or HEAD.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Time between checks of a backend (with jitter).</summary>
    public int IntervalMs { get; init; } = 2000;

    /// <summary>Time a check may take.</summary>
    public int TimeoutMs { get; init; } = 1000;

    /// <summary>Lowest passing status.</summary>
    public int StatusMin { get; init; } = 200;

    /// <summary>Highest passing status.</summary>
    public int StatusMax { get; init; } = 399;

    /// <summary>A substring the body must contain, or null.</summary>
    public string? ExpectBody { get; init; }

    /// <summary>Consecutive passes that make a backend healthy.</summary>
    public int Rise { get; init; } = 2;

    /// <summary>Consecutive failures that make a backend unhealthy.</summary>
    public int Fall { get; init; } = 3;

    /// <summary>Longest interval while a backend is unhealthy (the interval doubles per failure up to this).</summary>
    public int MaxBackoffMs { get; init; } = 30_000;

    /// <summary>Spread of each interval, as a fraction (0.1 = +/- 10%).</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Whether a backend no check has decided on yet takes traffic.</summary>
    public bool UnknownTakesTraffic { get; init; } = true;

    /// <summary>
    /// Panic mode (0 = off): when fewer than this percentage of backends are eligible, route over
    /// all of them as if healthy, rather than pile everything on the few left (as Envoy does).
    /// </summary>
    public int PanicThresholdPercent { get; init; }

    /// <summary>
    /// Slow start (0 = off): a backend that recovers takes its points back in ten steps over
    /// this time, so a cold cache is not flooded at once.
    /// </summary>
    public int SlowStartMs { get; init; }

    internal static readonly ConfigSchema<HealthConfig> Schema = new(Default,
    [
        new BoolSetting<HealthConfig>("enabled", c => c.Enabled, (c, v) => c with { Enabled = v }),
        new StringSetting<HealthConfig>("path", c => c.Path, (c, v) => c with { Path = v! }),
        new ChoiceSetting<HealthConfig, string>("method", [("GET", "GET"), ("HEAD", "HEAD")], c => c.Method, (c, v) => c with { Method = v }),
        new IntSetting<HealthConfig>("intervalMs", 50, Hour, c => c.IntervalMs, (c, v) => c with { IntervalMs = v }),
        new IntSetting<HealthConfig>("timeoutMs", 10, Hour, c => c.TimeoutMs, (c, v) => c with { TimeoutMs = v }),
        new TextSetting<HealthConfig, (int Min, int Max)>("expectStatus", "string", ParseStatusRange, FormatStatusRange,
            c => (c.StatusMin, c.StatusMax), (c, v) => c with { StatusMin = v.Min, StatusMax = v.Max })
        {
            Range = v => v.Min is >= 100 and <= 599 && v.Max is >= 100 and <= 599 && v.Min <= v.Max ? null : StatusRangeError(FormatStatusRange(v)),
        },
        new StringSetting<HealthConfig>("expectBody", c => c.ExpectBody, (c, v) => c with { ExpectBody = v }),
        new IntSetting<HealthConfig>("rise", 1, 100, c => c.Rise, (c, v) => c with { Rise = v }),
        new IntSetting<HealthConfig>("fall", 1, 100, c => c.Fall, (c, v) => c with { Fall = v }),
        new IntSetting<HealthConfig>("maxBackoffMs", 50, Hour, c => c.MaxBackoffMs, (c, v) => c with { MaxBackoffMs = v }),
        new NumberSetting<HealthConfig>("jitter", 0, 0.5, exclusiveMin: false, c => c.Jitter, (c, v) => c with { Jitter = v }),
        new BoolSetting<HealthConfig>("unknownTakesTraffic", c => c.UnknownTakesTraffic, (c, v) => c with { UnknownTakesTraffic = v }),
        new IntSetting<HealthConfig>("panicThresholdPercent", 0, 100, c => c.PanicThresholdPercent, (c, v) => c with { PanicThresholdPercent = v }),
        new IntSetting<HealthConfig>("slowStartMs", 0, Hour, c => c.SlowStartMs, (c, v) => c with { SlowStartMs = v }),
    ]);

    // "204" or "200-399": the syntax only; the range 100..599 is checked with the other ranges.
    private static bool ParseStatusRange(string text, out (int Min, int Max) value, out string? error)
    {
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        string low = dash < 0 ? text : text[..dash];
        string high = dash < 0 ? text : text[(dash + 1)..];
        if (int.TryParse(low, NumberStyles.None, CultureInfo.InvariantCulture, out int min) &&
            int.TryParse(high, NumberStyles.None, CultureInfo.InvariantCulture, out int max))
        {
            value = (min, max);
            error = null;
            return true;
        }

        value = default;
        error = StatusRangeError(text);
        return false;
    }

    private static string FormatStatusRange((int Min, int Max) range) =>
        range.Min == range.Max
            ? range.Min.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{range.Min}-{range.Max}");

    private static string StatusRangeError(string text) => $"must be a status or a range such as \"200-399\" within 100..599, got \"{text}\"";
}
