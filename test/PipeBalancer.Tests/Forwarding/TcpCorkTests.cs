using System.Net;
using System.Net.Sockets;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

public sealed class TcpCorkTests
{
    // <netinet/tcp.h>: IPPROTO_TCP 6, TCP_CORK 3.
    private const int IpProtoTcp = 6;
    private const int Cork = 3;

    [Test]
    public void HoldAndRelease_SetAndClearTheCork_OnAConnectedSocket()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();

        if (!OperatingSystem.IsLinux())
        {
            // TCP_CORK is Linux only; elsewhere the calls leave the socket alone.
            Assert.DoesNotThrow(() => TcpCork.Hold(client));
            Assert.DoesNotThrow(() => TcpCork.Release(client));
            return;
        }

        TcpCork.Hold(client);
        int held = Corked(client);
        TcpCork.Release(client);
        Assert.Multiple(() =>
        {
            Assert.That(held, Is.EqualTo(1), "held");
            Assert.That(Corked(client), Is.EqualTo(0), "released");
        });
    }

    [Test]
    public void HoldAndRelease_DoNothing_WithoutASocket_OrOnAClosedOne()
    {
        var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Dispose();
        Assert.Multiple(() =>
        {
            Assert.DoesNotThrow(() => TcpCork.Hold(null));
            Assert.DoesNotThrow(() => TcpCork.Release(null));
            Assert.DoesNotThrow(() => TcpCork.Hold(closed), "a socket the transport disposed while the relay ran");
            Assert.DoesNotThrow(() => TcpCork.Release(closed));
        });
    }

    private static int Corked(Socket socket)
    {
        var value = new byte[4];
        socket.GetRawSocketOption(IpProtoTcp, Cork, value);
        return BitConverter.ToInt32(value);
    }
}
