namespace PipeBalancer.Load;

/// <summary>One kind of traffic measured against every proxy.</summary>
/// <param name="Name">what the command line calls it</param>
/// <param name="Title">its row in the table</param>
/// <param name="Listener">the proxy's front door it goes through</param>
/// <param name="Threads">wrk -t</param>
/// <param name="Connections">wrk -c, or the number of idle clients</param>
/// <param name="PathPrefix">requests go to PREFIX0 .. PREFIX(Paths-1) (perf/load/requests.lua)</param>
/// <param name="BodyBytes">0: GET; else a POST with a body this long</param>
/// <param name="CloseEachRequest">send Connection: close: a new connection (and handshake) per request</param>
/// <param name="ReportsMegabytes">the throughput that counts is MB/s rather than requests/s</param>
/// <param name="Idle">no wrk: the harness holds Connections idle keep-alive clients</param>
internal sealed record Workload(
    string Name,
    string Title,
    Listener Listener,
    int Threads,
    int Connections,
    string PathPrefix = "/p/",
    int BodyBytes = 0,
    bool CloseEachRequest = false,
    bool ReportsMegabytes = false,
    bool Idle = false);
