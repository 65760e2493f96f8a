using System.Globalization;
using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>Routing: what each algorithm needs (a prime Maglev table, nginx's fixed hash and points) and what it ignores (warned about).</summary>
internal static class RoutingValidator
{
    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        var routing = draft.Config.Routing;
        var range = (IntSetting<RoutingConfig>)RoutingConfig.Schema["tableSize"];
        if (routing.TableSize >= range.Min && routing.TableSize <= range.Max && !Primes.IsPrime(routing.TableSize))
        {
            issues.Error("routing.tableSize", string.Create(CultureInfo.InvariantCulture,
                $"must be a prime number (Maglev needs it), got {routing.TableSize}; the next prime is {Primes.NextPrime(routing.TableSize)}"));
        }

        if (routing.Algorithm == RoutingAlgorithm.Nginx)
        {
            // The reader gives nginx crc32 unless lb.json names a hash: another one was written.
            if (routing.Hash != HashFunction.Crc32)
            {
                issues.Error("routing.hash", $"the nginx algorithm hashes with crc32, as nginx does; remove \"hash\" or set \"crc32\", got \"{RoutingNames.Of(routing.Hash)}\"");
            }

            if (routing.VirtualNodes != RoutingConfig.DefaultVirtualNodes)
            {
                issues.Error("routing.virtualNodes", string.Create(CultureInfo.InvariantCulture,
                    $"the nginx algorithm places 160 points per unit of weight, as nginx does; remove \"virtualNodes\" or set 160, got {routing.VirtualNodes}"));
            }
        }

        if (routing.Algorithm != RoutingAlgorithm.RingBounded && draft.IsWritten("routing.loadFactor"))
        {
            issues.Warn("routing.loadFactor", "only ring-bounded uses it; ignored");
        }

        if (routing.Algorithm != RoutingAlgorithm.Maglev && draft.IsWritten("routing.tableSize"))
        {
            issues.Warn("routing.tableSize", "only maglev uses it; ignored");
        }

        if (routing.Algorithm is RoutingAlgorithm.RoundRobin or RoutingAlgorithm.LeastConnections && draft.IsWritten("routing.key"))
        {
            issues.Warn("routing.key", $"{RoutingNames.Of(routing.Algorithm)} does not route on a key; ignored");
        }
    }
}
