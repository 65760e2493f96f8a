using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging.Abstractions;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Hosting;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>The proxy listeners' accept loop, on a real socket.</summary>
public sealed class BackoffListenerTests
{
    [Test]
    public async Task AcceptedConnections_SendWithoutNagleDelay()
    {
        // Small response heads must leave at once: every accepted socket has TCP_NODELAY, set
        // on the listening socket (Linux passes it on) or on each accepted one.
        await using var balancer = await TestBalancer.StartAsync([("a", 1)]);
        using var client = new TcpClient();
        await using var connection = await AcceptOneAsync(balancer, client, bare: false);
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        Assert.That(socket, Is.Not.Null, "Kestrel's socket connection exposes its socket");
        Assert.That(socket!.NoDelay, Is.True);
    }

    [Test]
    public async Task APlainTcpListener_HandsOnTheBareSocket_FoundThroughTheFeatures()
    {
        // The connection is counted open by a wrapper; the TCP handler must still find the
        // bare socket behind it (else it falls back to pipes without a word).
        await using var balancer = await TestBalancer.StartAsync([("a", 1)]);
        using var client = new TcpClient();
        await using var connection = await AcceptOneAsync(balancer, client, bare: true);
        var bare = connection.Features.Get<PipeBalancer.Forwarding.ClientSocketConnection>();
        Assert.That(bare, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(bare!.IsBare, Is.True, "no pipes until asked for");
            Assert.That(((IPEndPoint)bare.Socket.RemoteEndPoint!).Port, Is.EqualTo(((IPEndPoint)client.Client.LocalEndPoint!).Port));
        });
    }

    // One client connected through a listener of the balancer's own accept loop, and the connection it accepted.
    private static async Task<Microsoft.AspNetCore.Connections.ConnectionContext> AcceptOneAsync(TestBalancer balancer, TcpClient client, bool bare)
    {
        var factory = new BackoffListenerFactory("test", balancer.State, NullLoggerFactory.Instance, bare);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await client.ConnectAsync((IPEndPoint)listener.EndPoint);
        var connection = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(connection, Is.Not.Null);
        return connection!;
    }
}
