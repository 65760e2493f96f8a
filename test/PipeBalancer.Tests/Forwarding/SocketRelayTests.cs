using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

[CancelAfter(30_000)]
public sealed class SocketRelayTests
{
    [Test]
    public async Task LargeTransfer_ArrivesByteExact_BothWaysAtOnce()
    {
        await using var link = await RelayLink.OpenAsync();
        var up = Pattern(3 * 1024 * 1024 + 17, seed: 1);
        var down = Pattern(5 * 1024 * 1024 + 3, seed: 2);
        var relay = link.Start();

        // Both peers send everything, pass their end on, and read until the other's end.
        var clientSends = SendAndEndAsync(link.Client, up);
        var backendSends = SendAndEndAsync(link.Backend, down);
        var atBackend = ReceiveToEndAsync(link.Backend);
        var atClient = ReceiveToEndAsync(link.Client);
        await Task.WhenAll(clientSends, backendSends);
        var (backendGot, clientGot) = (await atBackend, await atClient);
        await relay.RunTask;
        Assert.Multiple(() =>
        {
            Assert.That(backendGot.SequenceEqual(up), Is.True, "client to backend, byte for byte");
            Assert.That(clientGot.SequenceEqual(down), Is.True, "backend to client, byte for byte");
            Assert.That(relay.Relay.ToBackend, Is.EqualTo(up.Length));
            Assert.That(relay.Relay.FromBackend, Is.EqualTo(down.Length));
        });
    }

    [Test]
    public async Task ClientHalfClose_ReachesTheBackend_AndTheBackendStillAnswers()
    {
        await using var link = await RelayLink.OpenAsync();
        var relay = link.Start();
        await link.Client.SendAsync("question"u8.ToArray());
        link.Client.Shutdown(SocketShutdown.Send);
        var asked = await ReceiveToEndAsync(link.Backend);
        await SendAndEndAsync(link.Backend, "answer after the end"u8.ToArray());
        var answer = await ReceiveToEndAsync(link.Client);
        await relay.RunTask;
        Assert.Multiple(() =>
        {
            Assert.That(asked, Is.EqualTo("question"u8.ToArray()));
            Assert.That(answer, Is.EqualTo("answer after the end"u8.ToArray()));
        });
    }

    [Test]
    public async Task BackendHalfClose_ReachesTheClient_AndTheClientStillSends()
    {
        await using var link = await RelayLink.OpenAsync();
        var relay = link.Start();
        await SendAndEndAsync(link.Backend, "greeting"u8.ToArray());
        var greeting = await ReceiveToEndAsync(link.Client);
        await SendAndEndAsync(link.Client, "sent after the backend's end"u8.ToArray());
        var late = await ReceiveToEndAsync(link.Backend);
        await relay.RunTask;
        Assert.Multiple(() =>
        {
            Assert.That(greeting, Is.EqualTo("greeting"u8.ToArray()));
            Assert.That(late, Is.EqualTo("sent after the backend's end"u8.ToArray()));
        });
    }

    [Test]
    public async Task ClientThatReadsNothing_IsAbortedWhenTheSendTimeoutPasses()
    {
        await using var link = await RelayLink.OpenAsync(clientSendTimeoutMs: 100);
        link.Client.ReceiveBufferSize = 4096;
        var relay = link.Start();

        // The backend sends until the client's socket buffers are full; the client reads nothing.
        var flood = Task.Run(async () =>
        {
            var block = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    await link.Backend.SendAsync(block);
                }
            }
            catch (SocketException)
            {
                // The relay shut the backend's side down once the client was aborted.
            }
            catch (ObjectDisposedException)
            {
                // Closed below, after the relay ended.
            }
        });
        while (!relay.Relay.Check(Environment.TickCount64 + 100))
        {
            await Task.Delay(20);
        }

        await relay.RunTask;
        link.Backend.Close();
        await flood;
        Assert.Multiple(() =>
        {
            Assert.That(relay.Relay.SendTimedOut, Is.True);
            Assert.That(link.Connection.ConnectionClosed.IsCancellationRequested, Is.True, "the client connection was aborted");
        });
    }

    [Test]
    public async Task Abort_EndsAnIdleRelay()
    {
        await using var link = await RelayLink.OpenAsync();
        var relay = link.Start();
        link.Connection.Abort();
        await relay.RunTask;
        var end = await ReceiveToEndAsync(link.Backend);
        Assert.That(end, Is.Empty, "the backend hears the end");
    }

    [Test]
    public async Task ClientSocketConnection_StartsPipesOnlyWhenAsked_AndTheyCarryBytes()
    {
        await using var link = await RelayLink.OpenAsync();
        Assert.That(link.Connection.IsBare, Is.True);
        var transport = link.Connection.Transport;
        Assert.That(link.Connection.IsBare, Is.False);
        await link.Client.SendAsync("via pipes"u8.ToArray());
        link.Client.Shutdown(SocketShutdown.Send);
        var got = new List<byte>();
        while (true)
        {
            var result = await transport.Input.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                got.AddRange(segment.ToArray());
            }

            transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.That(got.ToArray(), Is.EqualTo("via pipes"u8.ToArray()));
    }

    [Test]
    public async Task ClientSocketConnection_AbortResetsTheConnection_AndDisposeClosesItGracefully()
    {
        await using var aborted = await RelayLink.OpenAsync();
        await using var closed = await RelayLink.OpenAsync();

        // Unsent bytes queued toward a client that reads nothing are thrown away by a reset.
        await aborted.Connection.Socket.SendAsync(new byte[1024]);
        aborted.Connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("test"));
        await closed.Connection.Socket.SendAsync(new byte[1024]);
        await closed.Connection.DisposeAsync();

        var reset = Assert.ThrowsAsync<SocketException>(async () => await ReceiveToEndAsync(aborted.Client));
        var end = await ReceiveToEndAsync(closed.Client);
        Assert.Multiple(() =>
        {
            Assert.That(reset!.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
            Assert.That(end, Has.Length.EqualTo(1024), "what was sent, then the end");
            Assert.That(aborted.Connection.IsClosed && closed.Connection.IsClosed, Is.True);
        });
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task SendAndEndAsync(Socket socket, byte[] bytes)
    {
        for (int at = 0; at < bytes.Length;)
        {
            // Odd-sized pieces, so that chunks and buffers never line up.
            int n = Math.Min(bytes.Length - at, 70_001);
            at += await socket.SendAsync(bytes.AsMemory(at, n));
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[50_000];
        int read;
        while ((read = await socket.ReceiveAsync(buffer)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }

    // A client and a backend peer, each connected over loopback to the relay's side of it.
    private sealed class RelayLink : IAsyncDisposable
    {
        private readonly Socket _proxyBackend;
        private readonly int _clientSendTimeoutMs;

        private RelayLink(Socket client, ClientSocketConnection connection, Socket proxyBackend, Socket backend, int clientSendTimeoutMs)
        {
            Client = client;
            Connection = connection;
            _proxyBackend = proxyBackend;
            Backend = backend;
            _clientSendTimeoutMs = clientSendTimeoutMs;
        }

        public Socket Client { get; }

        public ClientSocketConnection Connection { get; }

        public Socket Backend { get; }

        public static async Task<RelayLink> OpenAsync(int clientSendTimeoutMs = 60_000)
        {
            var (client, proxyClient) = await PairAsync();
            var (proxyBackend, backend) = await PairAsync();
            return new RelayLink(client, new ClientSocketConnection(proxyClient, new PipeOptions()), proxyBackend, backend, clientSendTimeoutMs);
        }

        public (SocketRelay Relay, Task RunTask) Start()
        {
            var relay = new SocketRelay(Connection, Connection.Socket, _proxyBackend, _clientSendTimeoutMs);
            return (relay, Task.Run(relay.RunAsync));
        }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            Client.Dispose();
            _proxyBackend.Dispose();
            Backend.Dispose();
        }

        private static async Task<(Socket Connecting, Socket Accepted)> PairAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var connecting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var accept = listener.AcceptAsync();
            await connecting.ConnectAsync(listener.LocalEndPoint!);
            return (connecting, await accept);
        }
    }
}
