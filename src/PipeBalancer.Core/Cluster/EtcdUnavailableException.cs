namespace PipeBalancer.Cluster;

/// <summary>No etcd endpoint carried out a call: each one's failure is in the message, as users read it in a 503.</summary>
internal sealed class EtcdUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
