using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Runtime;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>
/// What an idle keep-alive client costs: after one request each, 2,000 clients stay connected
/// and send nothing. Counted, not timed: pool blocks and request states held (none), and the
/// managed heap's growth per connection, with the test's own client sockets in it.
/// </summary>
[NonParallelizable]
[CancelAfter(300_000)]
public sealed class IdleConnectionTests
{
    private const int Connections = 2000;

    // Per idle connection, both ends in this process (the client socket, the in-process host's
    // connection and the session): measured 7.1 KB here. The executable's own part measured with
    // dotnet-gcdump was 5.1 KB, and 6.9 KB while every connection held its request state (heads,
    // field tables, exchange: 1.8 KB), which this bound would catch.
    private const int MaxHeapBytesPerConnection = 8 * 1024;

    [Test]
    public async Task IdleKeepAliveClients_HoldNoPoolBlockAndNoRequestState_AndLittleHeapEach()
    {
        await using var backend = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(backend);
        var states = balancer.State.RequestStates;

        // Warm up (JIT, the backend pool, the pools' first blocks and states), then start counting.
        foreach (var warm in Open(balancer.EndPoint, 20))
        {
            warm.Dispose();
        }

        await Eventually.Until(() => balancer.State.Counters.OpenConnections == 0 && states.InUse == 0);
        long blocksBefore = BlockMemoryPool.Shared.Rented;
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var clients = Open(balancer.EndPoint, Connections);
        try
        {
            await Eventually.Until(() => balancer.State.Counters.OpenConnections == Connections && states.InUse == 0, seconds: 60);
            long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
            long blocks = BlockMemoryPool.Shared.Rented - blocksBefore;
            double perConnection = (heapAfter - heapBefore) / (double)Connections;
            TestContext.Out.WriteLine($"{Connections} idle connections: {perConnection:F0} bytes of managed heap each, {blocks} more pool blocks rented, {states.Free} request states pooled");
            Assert.Multiple(() =>
            {
                Assert.That(states.InUse, Is.Zero, "no request state held by an idle connection");

                // Requests went one at a time: one pooled backend connection (its posted receive
                // holds a block), not one block per client.
                Assert.That(blocks, Is.LessThanOrEqualTo(4), "pool blocks held by idle connections");
                Assert.That(perConnection, Is.LessThan(MaxHeapBytesPerConnection), "managed heap per idle connection");
            });

            // And they are still usable.
            foreach (var client in clients.Take(20))
            {
                Assert.That(Exchange(client, "/again"), Does.StartWith("HTTP/1.1 200"));
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    // One GET each, its whole response read, one client after the other; the sockets stay open.
    // Blocking sockets: an asynchronous connect would leave socket-engine state on each client
    // that this process's heap would count against the balancer.
    private static List<Socket> Open(IPEndPoint endPoint, int count)
    {
        var clients = new List<Socket>(count);
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 };
            clients.Add(socket);
            socket.Connect(endPoint);
            string head = Exchange(socket, "/idle");
            Assert.That(head, Does.StartWith("HTTP/1.1 200"), $"client {i}");
        }

        return clients;
    }

    // Sends a GET and reads its whole response (Content-Length or chunked); returns the head.
    private static string Exchange(Socket socket, string path)
    {
        socket.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            int n = socket.Receive(buffer);
            Assert.That(n, Is.GreaterThan(0), "the balancer closed the connection");
            received.AddRange(buffer.AsSpan(0, n));
            string text = Encoding.ASCII.GetString(received.ToArray());
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            string head = text[..end];
            if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            {
                if (text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
                {
                    return head;
                }

                continue;
            }

            var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            int bodyLength = length is null ? 0 : int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            if (received.Count >= end + 4 + bodyLength)
            {
                return head;
            }
        }
    }
}
