namespace PipeBalancer.Configuration;

/// <summary>The syntax of an address in lb.json, as a <see cref="TextSetting{T, TValue}"/> parser.</summary>
internal static class AddressSyntax
{
    /// <summary>A listener's or the admin app's address: <c>*</c> (every address) allowed.</summary>
    public static bool Listen(string text, out HostPort? value, out string? error) => Parse(text, allowAnyHost: true, out value, out error);

    /// <summary>A backend's address: a host to connect to.</summary>
    public static bool Connect(string text, out HostPort? value, out string? error) => Parse(text, allowAnyHost: false, out value, out error);

    public static string Format(HostPort address) => address.Text;

    private static bool Parse(string text, bool allowAnyHost, out HostPort? value, out string? error)
    {
        if (HostPort.TryParse(text, allowAnyHost, out value, out error))
        {
            return true;
        }

        error = $"{error}, got \"{text}\"";
        return false;
    }
}
