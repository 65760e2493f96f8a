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
        var factory = new BackoffListenerFactory("test", balancer.State, NullLoggerFactory.Instance);
        await using var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new TcpClient();
        await client.ConnectAsync((IPEndPoint)listener.EndPoint);
        var connection = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(connection, Is.Not.Null);
        await using (connection)
        {
            var socket = connection!.Features.Get<IConnectionSocketFeature>()?.Socket;
            Assert.That(socket, Is.Not.Null, "Kestrel's socket connection exposes its socket");
            Assert.That(socket!.NoDelay, Is.True);
        }
    }
}
