using System.IO.Pipelines;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>Two in-memory pipes that stand for a TCP connection: the proxy's end and the peer's end.</summary>
internal sealed class InMemoryConnection
{
    public static readonly PipeOptions Options = new(
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19);

    public InMemoryConnection()
    {
        var toProxy = new Pipe(Options);
        var toPeer = new Pipe(Options);
        ProxySide = new DuplexPipe(toProxy.Reader, toPeer.Writer);
        PeerSide = new DuplexPipe(toPeer.Reader, toProxy.Writer);
    }

    /// <summary>What the balancer reads and writes.</summary>
    public IDuplexPipe ProxySide { get; }

    /// <summary>What the client or backend at the other end reads and writes.</summary>
    public IDuplexPipe PeerSide { get; }

    public sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
