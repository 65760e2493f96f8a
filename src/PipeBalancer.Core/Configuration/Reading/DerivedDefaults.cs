using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>Defaults that depend on another setting, filled in once the file is read.</summary>
internal static class DerivedDefaults
{
    public static BalancerConfig Apply(BalancerConfig config, ConfigDraft draft) =>
        // The nginx algorithm hashes with crc32, as nginx does, unless lb.json names another
        // hash (which the routing validator refuses).
        config.Routing.Algorithm == RoutingAlgorithm.Nginx && !draft.IsWritten("routing.hash")
            ? config with { Routing = config.Routing with { Hash = HashFunction.Crc32 } }
            : config;
}
