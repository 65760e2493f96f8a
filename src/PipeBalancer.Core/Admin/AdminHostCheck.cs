using System.Net;
using Microsoft.AspNetCore.Http;

namespace PipeBalancer.Admin;

/// <summary>
/// The Host header values the admin app answers: those naming the address the request came
/// in on (its IP literal with its port, and <c>localhost</c> with the port when that address is
/// loopback), and the names listed in <c>admin.allowedHosts</c> (with any port). A web page
/// whose DNS name has been rebound to the admin address (DNS rebinding) reaches the admin app
/// with its own name as Host, so it is refused before anything else is looked at; the web
/// origin check then holds, since the origin it compares with is the admin app's own.
/// </summary>
internal sealed class AdminHostCheck(IReadOnlyList<string> allowedHosts)
{
    /// <summary>The status of a refusal: 421 Misdirected Request (RFC 9110, 15.5.20), this server does not answer for that authority.</summary>
    public const int Status = 421;

    /// <summary>Whether a request with <paramref name="host"/> that arrived on <paramref name="local"/>:<paramref name="localPort"/> is answered.</summary>
    public bool Allows(HostString host, IPAddress? local, int localPort)
    {
        if (!host.HasValue)
        {
            // Only HTTP/1.0 may leave Host out, and no browser does: nothing is rebound.
            return true;
        }

        string name = Unbracket(host.Host);
        foreach (string allowed in allowedHosts)
        {
            if (string.Equals(name, Unbracket(allowed), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        // Without a port, Host names port 80 (http's default).
        if ((host.Port ?? 80) != localPort || local is null)
        {
            return false;
        }

        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }

        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.IsLoopback(local);
        }

        if (!IPAddress.TryParse(name, out var named))
        {
            return false;
        }

        return (named.IsIPv4MappedToIPv6 ? named.MapToIPv4() : named).Equals(local);
    }

    /// <summary>Answers a request whose Host names another server.</summary>
    public static Task RefuseAsync(HttpContext context) =>
        Problem.WriteAsync(context, Status, "Misdirected Request",
            $"the admin app does not answer for host '{context.Request.Host.Value}'; use its address ({AddressOf(context)}), or list the name in admin.allowedHosts");

    private static string AddressOf(HttpContext context)
    {
        var local = context.Connection.LocalIpAddress;
        if (local is null)
        {
            return "the one it listens on";
        }

        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }

        return new IPEndPoint(local, context.Connection.LocalPort).ToString();
    }

    private static string Unbracket(string host) =>
        host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
}
