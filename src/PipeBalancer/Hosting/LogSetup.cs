using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace PipeBalancer.Hosting;

/// <summary>
/// Log output: one line per event on stdout, as text (the default) or as JSON lines
/// (<c>--log-format json</c>). Successful requests are not logged; rejected requests, backend
/// state changes, reloads and shutdown are.
/// </summary>
internal static class LogSetup
{
    /// <summary>Single-line text with a UTC timestamp.</summary>
    public static void Console(ILoggingBuilder logging) => Configure(logging, json: false);

    /// <summary>One JSON object per line.</summary>
    public static void Json(ILoggingBuilder logging) => Configure(logging, json: true);

    private static void Configure(ILoggingBuilder logging, bool json)
    {
        logging.ClearProviders();
        if (json)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.IncludeScopes = false;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);

        // The host logs a start-up failure (an address in use) with its whole stack before
        // rethrowing it; the balancer reports it in one line (exit 1) and logs what it did not
        // expect itself. A background service that stops the host is still logged (critical).
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    }
}
