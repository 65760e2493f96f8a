using PipeBalancer.Configuration;
using PipeBalancer.Runtime;

namespace PipeBalancer.Cluster;

/// <summary>The outcome of an admin change made through etcd: the edit's result, and the snapshot in force once it was applied here.</summary>
/// <param name="Result">The edit's result (errors when it was refused).</param>
/// <param name="Applied">The snapshot in force right after it.</param>
internal readonly record struct ClusterEdit(ConfigResult Result, ProxySnapshot Applied);
