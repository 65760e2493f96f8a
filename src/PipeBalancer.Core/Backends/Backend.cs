using System.Net;
using PipeBalancer.Configuration;

namespace PipeBalancer.Backends;

/// <summary>A backend at run time: where it is, how busy it is, whether it may take requests, and its idle connections.</summary>
public sealed class Backend : IDisposable
{
    private int _inFlight;
    private long _requests;
    private long _failures;

    internal Backend(BackendConfig config, int maxIdle)
    {
        Config = config;
        EndPoint = config.Address.IPAddress is { } ip
            ? new IPEndPoint(ip, config.Address.Port)
            : new DnsEndPoint(config.Address.Host, config.Address.Port);
        Pool = new BackendPool(maxIdle);
    }

    /// <summary>The backend's lb.json entry.</summary>
    public BackendConfig Config { get; }

    /// <summary>Where to connect.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>Whether routing may choose it (health checks and circuit breaking set this).</summary>
    public bool Eligible { get; set; } = true;

    /// <summary>Requests it is handling now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests sent to it since start.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Connect failures, timeouts and broken responses since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal BackendPool Pool { get; }

    internal void Begin()
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _requests);
    }

    internal void End() => Interlocked.Decrement(ref _inFlight);

    internal void RecordFailure() => Interlocked.Increment(ref _failures);

    /// <summary>Closes its idle connections.</summary>
    public void Dispose() => Pool.Dispose();
}
