using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>A Kestrel connection over in-memory pipes, for driving a connection handler without sockets.</summary>
internal sealed class TestConnectionContext : ConnectionContext
{
    public TestConnectionContext(IDuplexPipe transport, IPAddress? client = null)
    {
        Transport = transport;
        RemoteEndPoint = new IPEndPoint(client ?? IPAddress.Loopback, 40000);
    }

    public override string ConnectionId { get; set; } = "test";

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public Exception? AbortedWith { get; private set; }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        AbortedWith = abortReason;
        Transport.Output.Complete(abortReason);
        Transport.Input.Complete();
    }
}
