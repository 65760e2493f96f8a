using System.Globalization;
using System.Net.Sockets;

namespace PipeBalancer.Backends;

/// <summary>
/// What one health check found: its outcome, the status received (when a response came) and a
/// sentence saying why, as logged and shown in stats. Two results are the same outcome when
/// all three are equal: a backend that goes from 503 to 500 has changed.
/// </summary>
/// <param name="Outcome">How the check ended.</param>
/// <param name="Status">The HTTP status received, or null when no response came.</param>
/// <param name="Reason">What happened, in words: <c>status 503, expected 200-399 (health.expectStatus)</c>.</param>
internal sealed record HealthCheckResult(HealthCheckOutcome Outcome, int? Status, string Reason)
{
    /// <summary>Whether the check passed.</summary>
    public bool Passed => Outcome == HealthCheckOutcome.Passed;

    /// <summary>A passing check that received <paramref name="status"/>.</summary>
    public static HealthCheckResult Pass(int status) => new(HealthCheckOutcome.Passed, status, Invariant($"status {status}"));

    /// <summary>A response with a status outside <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static HealthCheckResult UnexpectedStatus(int status, int min, int max) =>
        new(HealthCheckOutcome.Status, status, min == max
            ? Invariant($"status {status}, expected {min} (health.expectStatus)")
            : Invariant($"status {status}, expected {min}-{max} (health.expectStatus)"));

    /// <summary>A passing status whose body lacks <paramref name="expected"/>.</summary>
    public static HealthCheckResult BodyMismatch(int status, string expected) =>
        new(HealthCheckOutcome.Body, status, Invariant($"status {status}, but the body does not contain \"{expected}\" (health.expectBody)"));

    /// <summary>No connection: <paramref name="error"/> names why (a <see cref="SocketError"/> name such as <c>ConnectionRefused</c>).</summary>
    public static HealthCheckResult ConnectFailed(string error) => new(HealthCheckOutcome.Connect, null, $"could not connect: {error}");

    /// <summary>No complete answer within <paramref name="timeoutMs"/>.</summary>
    public static HealthCheckResult TimedOut(int timeoutMs) =>
        new(HealthCheckOutcome.Timeout, null, Invariant($"no answer within {timeoutMs} ms (health.timeoutMs)"));

    /// <summary>The connection broke or the answer was not HTTP: <paramref name="error"/> names how.</summary>
    public static HealthCheckResult BrokenResponse(string error) => new(HealthCheckOutcome.Response, null, $"broken response: {error}");

    /// <summary>
    /// The result of a check that threw <paramref name="exception"/> (one the check expects:
    /// HTTP, socket, I/O or its own timeout).
    /// </summary>
    public static HealthCheckResult From(Exception exception, int timeoutMs)
    {
        if (exception is OperationCanceledException || Find<TimeoutException>(exception) is not null)
        {
            return TimedOut(timeoutMs);
        }

        var socket = Find<SocketException>(exception);
        if (exception is HttpRequestException http)
        {
            return http.HttpRequestError switch
            {
                HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.ProxyTunnelError =>
                    ConnectFailed(socket?.SocketErrorCode.ToString() ?? http.HttpRequestError.ToString()),
                _ when Find<OperationCanceledException>(exception) is not null => TimedOut(timeoutMs),
                _ => BrokenResponse(socket?.SocketErrorCode.ToString() ?? http.HttpRequestError.ToString()),
            };
        }

        return exception is SocketException direct
            ? ConnectFailed(direct.SocketErrorCode.ToString())
            : BrokenResponse(socket?.SocketErrorCode.ToString() ?? exception.GetType().Name);
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
