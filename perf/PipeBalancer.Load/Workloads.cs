namespace PipeBalancer.Load;

/// <summary>The nine workloads, in the order they run and are reported.</summary>
internal static class Workloads
{
    public static readonly IReadOnlyList<Workload> All =
    [
        new("small", "small GETs, 64 keep-alive conns (-t1 -c64, 10,000 paths)", Listener.Http, 1, 64),
        new("small-1000", "small GETs, 1,000 keep-alive conns (-t2 -c1000)", Listener.Http, 2, 1000),
        new("large", "256 KB responses, 16 conns", Listener.Http, 1, 16, PathPrefix: "/big/", ReportsMegabytes: true),
        new("post", "64 KB POST bodies, 16 conns", Listener.Http, 1, 16, BodyBytes: 64 * 1024),
        new("close", "new TCP connection per request (Connection: close), 32 conns", Listener.Http, 1, 32, CloseEachRequest: true),
        new("tls", "TLS keep-alive GETs (ECDSA P-256), 64 conns", Listener.Https, 1, 64),
        new("tls-handshake", "new TLS handshake per request, 32 conns", Listener.Https, 1, 32, CloseEachRequest: true),
        new("tcp", "TCP (L4) listener, keep-alive GETs, 64 conns", Listener.Tcp, 1, 64),
        new("idle", "8,000 idle keep-alive clients", Listener.Http, 0, 8000, Idle: true),
    ];

    public static Workload? Find(string name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
}
