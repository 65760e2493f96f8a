using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// A client connection of <see cref="BackoffListener"/>, counted open until Kestrel disposes it,
/// when its socket is closed. Counting it closed when the client hung up
/// (<see cref="ConnectionContext.ConnectionClosed"/>) let the listener accept again while the
/// handler still held the socket and a backend connection: after a flood, hundreds of such
/// connections were open at once and the process ran out of descriptors in spite of its budget.
/// </summary>
internal sealed class CountedConnection(ConnectionContext inner, LocalLimitFaults limits) : ConnectionContext
{
    private int _disposed;

    /// <inheritdoc />
    public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

    /// <inheritdoc />
    public override IFeatureCollection Features => inner.Features;

    /// <inheritdoc />
    public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }

    /// <inheritdoc />
    public override IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }

    /// <inheritdoc />
    public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }

    /// <inheritdoc />
    public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }

    /// <inheritdoc />
    public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

    /// <inheritdoc />
    public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

    /// <inheritdoc />
    public override void Abort() => inner.Abort();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limits.Closed();
            }
        }
    }
}
