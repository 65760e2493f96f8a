using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace PipeBalancer.Discovery;

/// <summary>
/// The id of a backend found through DNS, made from its target host and port alone, never from
/// its place in the answer: instances that get the same records in another order give every
/// backend the same id, so the same ring points, and route every key alike.
/// </summary>
internal static class BackendIdentity
{
    // Backend ids are 1..64 characters (EntryRules): a longer name keeps its start and gets a
    // stable hash of the whole (XxHash64, the same on every instance) in place of the rest.
    private const int MaxLength = 64;
    private const int HashLength = 16;

    /// <summary>
    /// <c>host-port</c> with the host in lower case, without a final dot, and an IPv6 address's
    /// colons as underscores, e.g. <c>web-0.web.default.svc.cluster.local-8080</c> or <c>10.0.0.5-8080</c>.
    /// </summary>
    public static string Of(string host, int port)
    {
        string name = host.TrimEnd('.').ToLowerInvariant().Replace(':', '_');
        string id = string.Create(CultureInfo.InvariantCulture, $"{name}-{port}");
        if (id.Length <= MaxLength)
        {
            return id;
        }

        ulong hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(id));
        return string.Create(CultureInfo.InvariantCulture, $"{id[..(MaxLength - HashLength - 1)]}-{hash:x16}");
    }
}
