namespace PipeBalancer.Configuration;

/// <summary>
/// Tracing and request ids: an OTLP endpoint that is an http or https URL, a service name, and
/// a request-id field name that is a valid field name and not one the balancer writes itself.
/// </summary>
internal static class TracingValidator
{
    // Fields the balancer sets or rewrites on every forwarded request: an id kept in one of them
    // would be overwritten or would overwrite it.
    private static readonly string[] Managed =
    [
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Keep-Alive", "TE", "Proxy-Connection",
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "traceparent", "tracestate",
    ];

    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var tracing = draft.Config.Tracing;
        if (tracing.OtlpEndpoint is { } endpoint &&
            !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.UserInfo.Length == 0 && uri.Query.Length == 0))
        {
            issues.Error("tracing.otlpEndpoint", $"must be an http or https URL like \"http://127.0.0.1:4318/v1/traces\" (no credentials, no query), got \"{endpoint}\"");
        }

        if (string.IsNullOrWhiteSpace(tracing.ServiceName))
        {
            issues.Error("tracing.serviceName", "must not be empty");
        }

        string header = draft.Config.RequestId.Header;
        if (header.Length is 0 or > 64 || !header.All(IsTokenChar))
        {
            issues.Error("requestId.header", $"must be a field name of 1 to 64 letters, digits or !#$%&'*+-.^_`|~ (RFC 9110 token), got \"{header}\"");
        }
        else if (Managed.Any(m => m.Equals(header, StringComparison.OrdinalIgnoreCase)))
        {
            issues.Error("requestId.header", $"must not be \"{header}\": the balancer writes that field itself");
        }
    }

    // RFC 9110 section 5.6.2: tchar.
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
