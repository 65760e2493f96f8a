using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using PipeBalancer.Forwarding;
using PipeBalancer.Runtime;

namespace PipeBalancer.Hosting;

/// <summary>
/// One bound listen socket's accept loop. An accept that fails on a local limit (EMFILE,
/// ENFILE, no buffer space) waits before the next try, 10 ms doubling up to 1 s, so a process
/// out of descriptors does not spin; it is recorded (<see cref="LocalLimitFaults"/>: the log and
/// <c>/readyz</c> say so) and charged to nobody. Accepting resumes at full speed on the first
/// success; while the process is short of descriptors, the listener accepts no more clients
/// than were open when it ran out (<see cref="LocalLimitFaults.MayAccept"/>). While paused at
/// the budget it accepts again as soon as a client connection closes. The first pause or
/// failure of an episode is logged, and so is its end (none for 5 s). Any other failed accept
/// (a connection reset while it waited in the backlog) is skipped, as Kestrel does. With
/// <paramref name="bare"/>, an accepted socket becomes a <see cref="ClientSocketConnection"/>
/// (no pipes until asked for) instead of Kestrel's socket connection.
/// </summary>
internal sealed class BackoffListener(string name, Socket socket, SocketConnectionContextFactory factory, ProxyState state, bool bare = false) : IConnectionListener
{
    private const int FirstDelayMs = 10;
    private const int MaxDelayMs = 1_000;

    /// <summary>The longest wait for a closing connection while paused: the ceiling set after a
    /// failed accept lifts with time too (<see cref="LocalLimitFaults.MayAccept"/>), which no close signals.</summary>
    private const int PausedRecheckMs = 50;

    /// <inheritdoc />
    public EndPoint EndPoint { get; } = socket.LocalEndPoint!;

    /// <inheritdoc />
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        int delayMs = 0;
        while (true)
        {
            Socket accepted;
            try
            {
                // After running out: no more clients than there were then, until they thin out.
                while (!state.LocalLimits.MayAccept(state.LocalLimits.Accepted) || AtBudget())
                {
                    await state.LocalLimits.WaitForRoomAsync(PausedRecheckMs, cancellationToken).ConfigureAwait(false);
                }

                accepted = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                // Unbound.
                return null;
            }
            catch (SocketException e) when (NetworkFault.Classify(e) == NetworkFaultKind.LocalLimit)
            {
                delayMs = delayMs == 0 ? FirstDelayMs : Math.Min(delayMs * 2, MaxDelayMs);
                if (state.LocalLimits.Record(state.LocalLimits.Accepted))
                {
                    Log.DataPlaneOutOfDescriptors(state.Logger, "accept", e.Message);
                    Log.LocalLimitsQuietLater(state);
                }

                if (delayMs == MaxDelayMs || delayMs == FirstDelayMs)
                {
                    Log.AcceptBackingOff(state.Logger, name, e.Message, delayMs);
                }

                try
                {
                    await Task.Delay(delayMs, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }

                continue;
            }
            catch (SocketException)
            {
                // Reset while it waited in the backlog: take the next one.
                continue;
            }

            if (!OperatingSystem.IsLinux())
            {
                // Linux inherits it from the listening socket (BackoffListenerFactory).
                accepted.NoDelay = true;
            }

            ConnectionContext connection = bare ? new ClientSocketConnection(accepted, state.BackendPipeOptions) : factory.Create(accepted);
            state.LocalLimits.Opened();
            return new CountedConnection(connection, state.LocalLimits);
        }
    }

    private bool AtBudget()
    {
        long open = state.LocalLimits.Accepted;
        if (!state.LocalLimits.AtBudget(open, out bool episodeStart))
        {
            return false;
        }

        if (episodeStart)
        {
            Log.AcceptPausedAtBudget(state.Logger, name, open, state.LocalLimits.Budget);
            Log.LocalLimitsQuietLater(state);
        }

        return true;
    }

    /// <inheritdoc />
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        factory.Dispose();
        return ValueTask.CompletedTask;
    }
}
