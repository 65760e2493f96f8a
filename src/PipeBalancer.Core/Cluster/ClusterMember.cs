namespace PipeBalancer.Cluster;

/// <summary>One balancer registered under the shared prefix, as its own registration says.</summary>
/// <param name="Name">Its <c>cluster.name</c> (or host name and admin port).</param>
/// <param name="Admin">Its admin API's URL, as it sees its own address.</param>
/// <param name="AppliedRevision">The revision of the shared backends it routes on (etcd's mod revision of the key).</param>
/// <param name="Stale">Whether it said it had lost etcd when it last wrote (it cannot say so while cut off).</param>
internal sealed record ClusterMember(string Name, string Admin, long AppliedRevision, bool Stale);
