using System.Globalization;
using System.Text;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Benchmarks;

/// <summary>
/// The design PipeBalancer replaced, kept as the benchmarks' baseline: points in a dictionary
/// keyed by 32-bit FNV-1a of "address#i", the key decoded to a string, and the point hashes
/// copied out and sorted on every lookup before a binary search.
/// </summary>
internal sealed class SeedDesignRing
{
    private readonly Dictionary<uint, string> _points = [];

    public SeedDesignRing(BackendConfig[] servers, int virtualNodes)
    {
        foreach (var server in servers)
        {
            for (int i = 0; i < virtualNodes; i++)
            {
                string label = string.Create(CultureInfo.InvariantCulture, $"{server.Address}#{i}");
                _points[KeyHash.Fnv1a32(Encoding.UTF8.GetBytes(label))] = server.Id;
            }
        }
    }

    public string Lookup(byte[] key)
    {
        string text = Encoding.UTF8.GetString(key);
        uint hash = KeyHash.Fnv1a32(Encoding.UTF8.GetBytes(text));
        var sorted = _points.Keys.ToList();
        sorted.Sort();
        int index = sorted.BinarySearch(hash);
        if (index < 0)
        {
            index = ~index;
        }

        return _points[sorted[index == sorted.Count ? 0 : index]];
    }
}
