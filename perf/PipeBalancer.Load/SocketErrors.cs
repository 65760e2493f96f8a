namespace PipeBalancer.Load;

/// <summary>wrk's "Socket errors:" line (all zero when wrk does not print it).</summary>
internal sealed record SocketErrors(long Connect, long Read, long Write, long Timeout)
{
    public static readonly SocketErrors None = new(0, 0, 0, 0);

    public long Total => Connect + Read + Write + Timeout;

    public override string ToString() => $"connect {Connect}, read {Read}, write {Write}, timeout {Timeout}";
}
