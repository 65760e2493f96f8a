namespace PipeBalancer.Backends;

/// <summary>How one active health check ended.</summary>
internal enum HealthCheckOutcome
{
    /// <summary>A status within <c>health.expectStatus</c> (and the expected body, if any).</summary>
    Passed,

    /// <summary>A response whose status is outside <c>health.expectStatus</c>.</summary>
    Status,

    /// <summary>The connection could not be opened (refused, unreachable, name not resolved).</summary>
    Connect,

    /// <summary>No complete answer within <c>health.timeoutMs</c>.</summary>
    Timeout,

    /// <summary>A passing status, but the body lacks <c>health.expectBody</c>.</summary>
    Body,

    /// <summary>The connection broke or the response was not valid HTTP.</summary>
    Response,
}
