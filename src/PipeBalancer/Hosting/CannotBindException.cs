using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace PipeBalancer.Hosting;

/// <summary>
/// An address of the balancer could not be bound at start: the message names which one (a
/// listener with its name, mode and address, or the admin address) and why, in one line.
/// </summary>
internal sealed class CannotBindException : Exception
{
    public CannotBindException(string what, IOException inner)
        : base($"{what}: {Reason(inner)}", inner)
    {
    }

    /// <summary>
    /// Why Kestrel could not bind: the socket error, without Kestrel's own message, which names
    /// the address as an http:// URL whatever the listener's mode.
    /// </summary>
    public static string Reason(IOException e) => e.InnerException switch
    {
        AddressInUseException => "address already in use",
        SocketException { SocketErrorCode: SocketError.AccessDenied } => "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)",
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } => "the address is not one of this machine's",
        { } inner => inner.Message,
        null => e.Message,
    };
}
