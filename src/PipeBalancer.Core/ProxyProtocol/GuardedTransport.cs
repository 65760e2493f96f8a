using System.IO.Pipelines;

namespace PipeBalancer.ProxyProtocol;

/// <summary>A connection's transport with its input read through a <see cref="ProxyHeaderGuard"/>.</summary>
internal sealed class GuardedTransport(IDuplexPipe inner, PipeReader input) : IDuplexPipe
{
    public PipeReader Input => input;

    public PipeWriter Output => inner.Output;
}
