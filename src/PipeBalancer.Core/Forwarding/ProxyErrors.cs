using PipeBalancer.Http1;

namespace PipeBalancer.Forwarding;

/// <summary>The responses the balancer sends when it cannot get one from a backend.</summary>
internal static class ProxyErrors
{
    /// <summary>502: every backend tried failed before a complete response head (refused, reset, garbage).</summary>
    public static readonly byte[] BadGateway = ErrorResponse.Build(502, "502 Bad Gateway: the backend failed before responding\n", "Connection: close\r\n");

    /// <summary>503: no backend may take the request.</summary>
    public static readonly byte[] Unavailable = ErrorResponse.Build(503, "503 Service Unavailable: no backend available\n", "Retry-After: 1\r\nConnection: close\r\n");

    /// <summary>504: the backend did not answer within the response timeout.</summary>
    public static readonly byte[] GatewayTimeout = ErrorResponse.Build(504, "504 Gateway Timeout: the backend did not respond in time\n", "Connection: close\r\n");

    /// <summary>The response for <paramref name="status"/> (502, 503 or 504).</summary>
    public static byte[] For(int status) => status switch
    {
        503 => Unavailable,
        504 => GatewayTimeout,
        _ => BadGateway,
    };
}
