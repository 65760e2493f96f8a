using System.Globalization;

namespace PipeBalancer.Load;

/// <summary>
/// Reads the text wrk 4.x prints with --latency. Lines it relies on:
/// <code>
///   Latency Distribution
///      50%    1.34ms
///      99%   53.91ms
///   58089 requests in 3.02s, 9.07MB read
///   Socket errors: connect 0, read 22482, write 0, timeout 0
///   Non-2xx or 3xx responses: 5809
/// Requests/sec:  19227.33
/// Transfer/sec:      3.00MB
/// </code>
/// The last two optional lines appear only when there were such errors. Anything else wrk
/// prints (a line such as "unable to connect to ...") makes the output unreadable, and the
/// error says which line was missing and quotes wrk's first line.
/// </summary>
internal static class WrkOutputParser
{
    public static bool TryParse(string output, out WrkResult? result, out string error)
    {
        result = null;
        long? requests = null;
        double? seconds = null, rps = null, transfer = null, p50 = null, p99 = null;
        long non2xx = 0;
        var socket = SocketErrors.None;

        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                continue;
            }

            if (words.Length >= 4 && words[1] == "requests" && words[2] == "in")
            {
                // "58089 requests in 3.02s, 9.07MB read"
                if (!long.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ||
                    !TryParseDuration(words[3].TrimEnd(','), out var ms))
                {
                    error = $"cannot read wrk's request count line: '{line}'";
                    return false;
                }

                requests = n;
                seconds = ms / 1000;
            }
            else if (words[0] == "Requests/sec:" && words.Length == 2)
            {
                if (!double.TryParse(words[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var r))
                {
                    error = $"cannot read wrk's line '{line}'";
                    return false;
                }

                rps = r;
            }
            else if (words[0] == "Transfer/sec:" && words.Length == 2)
            {
                if (!TryParseBytes(words[1], out var b))
                {
                    error = $"cannot read wrk's line '{line}'";
                    return false;
                }

                transfer = b;
            }
            else if (words.Length == 2 && (words[0] == "50%" || words[0] == "99%"))
            {
                if (!TryParseDuration(words[1], out var ms))
                {
                    error = $"cannot read wrk's latency line '{line}'";
                    return false;
                }

                if (words[0] == "50%")
                {
                    p50 = ms;
                }
                else
                {
                    p99 = ms;
                }
            }
            else if (line.StartsWith("Socket errors:", StringComparison.Ordinal))
            {
                if (!TryParseSocketErrors(words, out socket))
                {
                    error = $"cannot read wrk's line '{line}'";
                    return false;
                }
            }
            else if (line.StartsWith("Non-2xx or 3xx responses:", StringComparison.Ordinal))
            {
                if (!long.TryParse(words[^1], NumberStyles.None, CultureInfo.InvariantCulture, out non2xx))
                {
                    error = $"cannot read wrk's line '{line}'";
                    return false;
                }
            }
        }

        var missing = requests is null ? "'N requests in ...'"
            : rps is null ? "'Requests/sec:'"
            : transfer is null ? "'Transfer/sec:'"
            : p50 is null || p99 is null ? "the latency distribution (was wrk run with --latency?)"
            : null;
        if (missing is not null)
        {
            var first = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no output)";
            error = $"wrk's output has no {missing}; it begins: {first}";
            return false;
        }

        result = new WrkResult(requests!.Value, seconds!.Value, rps!.Value, transfer!.Value, p50!.Value, p99!.Value, non2xx, socket);
        error = "";
        return true;
    }

    /// <summary>wrk's durations: 812.00us, 1.23ms, 1.02s, 2.00m, 1.00h; in milliseconds.</summary>
    public static bool TryParseDuration(string text, out double milliseconds)
    {
        (string Suffix, double Factor)[] units = [("us", 0.001), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                milliseconds = value * factor;
                return true;
            }
        }

        milliseconds = 0;
        return false;
    }

    /// <summary>wrk's byte counts: 0.00B, 136.15KB, 3.00MB, 1.76GB (binary units); in bytes.</summary>
    public static bool TryParseBytes(string text, out double bytes)
    {
        (string Suffix, double Factor)[] units = [("KB", 1024d), ("MB", 1024d * 1024), ("GB", 1024d * 1024 * 1024), ("TB", 1024d * 1024 * 1024 * 1024), ("B", 1)];
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) &&
                double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                bytes = value * factor;
                return true;
            }
        }

        bytes = 0;
        return false;
    }

    // "Socket errors: connect 0, read 22482, write 0, timeout 0"
    private static bool TryParseSocketErrors(string[] words, out SocketErrors errors)
    {
        errors = SocketErrors.None;
        if (words.Length != 10)
        {
            return false;
        }

        var values = new long[4];
        string[] names = ["connect", "read", "write", "timeout"];
        for (var i = 0; i < 4; i++)
        {
            if (words[2 + (2 * i)] != names[i] ||
                !long.TryParse(words[3 + (2 * i)].TrimEnd(','), NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
            {
                return false;
            }
        }

        errors = new SocketErrors(values[0], values[1], values[2], values[3]);
        return true;
    }
}
