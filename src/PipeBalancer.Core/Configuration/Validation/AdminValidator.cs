using System.Globalization;

namespace PipeBalancer.Configuration;

/// <summary>The admin app: an address it can bind, a token strong enough, required off loopback, well-formed CORS origins and allowed host names.</summary>
internal static class AdminValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var admin = draft.Config.Admin;
        bool addressValid = CheckAddress(admin.Address, issues);
        if (admin.Token is { } token && (token.Length < AdminConfig.MinTokenLength || token.Any(char.IsWhiteSpace)))
        {
            issues.Error("admin.token", string.Create(CultureInfo.InvariantCulture, $"must be at least {AdminConfig.MinTokenLength} characters without whitespace"));
        }

        // The admin API changes where traffic goes: reachable from other machines, it must ask
        // who calls. (A token given but malformed was reported above.)
        if (addressValid && admin.Address is not null && !admin.IsLoopback && admin.Token is null && !draft.IsWritten("admin.token"))
        {
            issues.Error("admin.token", $"is required when admin.address ('{admin.Address}') is not a loopback address");
        }

        for (int i = 0; i < admin.CorsOrigins.Count; i++)
        {
            string? text = admin.CorsOrigins[i];
            if (text is not null && !IsOrigin(text))
            {
                issues.Error(string.Create(CultureInfo.InvariantCulture, $"admin.corsOrigins[{i}]"),
                    $"must be an origin like \"https://ops.example.com\" (scheme, host, optional port; no path), got \"{text}\"");
            }
        }

        for (int i = 0; i < admin.AllowedHosts.Count; i++)
        {
            string? text = admin.AllowedHosts[i];
            if (text is not null && !IsHostName(text))
            {
                issues.Error(string.Create(CultureInfo.InvariantCulture, $"admin.allowedHosts[{i}]"),
                    $"must be a host name or IP address without scheme or port, like \"lb-1.internal\", got \"{text}\"");
            }
        }
    }

    // The admin app binds one address and resolves no names: a host name other than localhost
    // would be bound as localhost, not where it points, so it is refused.
    private static bool CheckAddress(HostPort? address, ConfigIssues issues)
    {
        if (address is null || address.IPAddress is not null || address.Host == "*" || address.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        issues.Error("admin.address", $"must be an IP address, '*' or localhost, got the host name '{address.Host}' (the admin app does not resolve names; write the address it should bind)");
        return false;
    }

    // An IPv6 literal (in brackets or not), or a name of dot-separated labels of letters,
    // digits, '-' and '_' (a reg-name as a Host header carries it: container and service names
    // use '_'; IPv4 addresses are such names too), each 1-63 characters, 253 in all.
    private static bool IsHostName(string text)
    {
        if (text.Contains(':'))
        {
            string literal = text.Length > 2 && text[0] == '[' && text[^1] == ']' ? text[1..^1] : text;
            return !literal.Contains('[') && !literal.Contains(']') &&
                System.Net.IPAddress.TryParse(literal, out var address) &&
                address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        if (text.Length is 0 or > 253)
        {
            return false;
        }

        foreach (var label in text.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' ||
                !label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsOrigin(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" &&
        uri.PathAndQuery == "/" && !text.EndsWith('/') && uri.UserInfo.Length == 0;
}
