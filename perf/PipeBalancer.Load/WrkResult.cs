namespace PipeBalancer.Load;

/// <summary>What one wrk run reports (with --latency).</summary>
/// <param name="Requests">completed requests ("N requests in ...")</param>
/// <param name="Seconds">the run's measured length</param>
/// <param name="RequestsPerSecond">"Requests/sec:"</param>
/// <param name="BytesPerSecond">"Transfer/sec:" in bytes (wrk prints binary units: 1 MB = 2^20 bytes)</param>
/// <param name="P50Ms">median latency in milliseconds</param>
/// <param name="P99Ms">99th percentile latency in milliseconds</param>
/// <param name="Non2xx">responses whose status was not 2xx or 3xx</param>
/// <param name="SocketErrors">connect, read, write and timeout errors as wrk counts them</param>
internal sealed record WrkResult(
    long Requests,
    double Seconds,
    double RequestsPerSecond,
    double BytesPerSecond,
    double P50Ms,
    double P99Ms,
    long Non2xx,
    SocketErrors SocketErrors)
{
    /// <summary>Every failed request or connection: non-2xx/3xx responses and socket errors.</summary>
    public long Errors => Non2xx + SocketErrors.Total;

    /// <summary>Throughput in MB/s (2^20 bytes), as wrk prints it.</summary>
    public double MegabytesPerSecond => BytesPerSecond / (1024 * 1024);
}
