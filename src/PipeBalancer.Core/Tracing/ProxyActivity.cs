using System.Diagnostics;
using PipeBalancer.Http1;

namespace PipeBalancer.Tracing;

/// <summary>
/// The <c>PipeBalancer</c> ActivitySource and the names of what its spans carry: attributes after
/// OpenTelemetry's semantic conventions for HTTP client spans, plus the balancer's own.
/// </summary>
internal static class ProxyActivity
{
    /// <summary>The source's name, for <c>AddSource</c> and <c>ActivityListener</c>s.</summary>
    public const string SourceName = "PipeBalancer";

    /// <summary>The routing key's hash (unsigned 32-bit, as the ring uses it): which requests share a server.</summary>
    public const string KeyHash = "pipebalancer.route.key_hash";

    /// <summary>The id of the backend that served (or last failed) the request.</summary>
    public const string BackendId = "pipebalancer.backend.id";

    /// <summary>The source every span of the balancer comes from.</summary>
    public static readonly ActivitySource Source = new(SourceName, typeof(ProxyActivity).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// The method as the conventions name it (<c>http.request.method</c>, and the span's name):
    /// the known ones without allocating, anything else <c>_OTHER</c>.
    /// </summary>
    public static string MethodName(RequestMethod method) => method switch
    {
        RequestMethod.Get => "GET",
        RequestMethod.Head => "HEAD",
        RequestMethod.Post => "POST",
        RequestMethod.Put => "PUT",
        RequestMethod.Delete => "DELETE",
        RequestMethod.Options => "OPTIONS",
        RequestMethod.Trace => "TRACE",
        RequestMethod.Patch => "PATCH",
        RequestMethod.Connect => "CONNECT",
        _ => "_OTHER",
    };
}
