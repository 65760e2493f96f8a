using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Runtime;

namespace PipeBalancer.ProxyProtocol;

/// <summary>
/// The client pipe of a connection from a source outside the trusted networks, on a listener
/// that takes PROXY headers: the first bytes are looked at before anyone sees them, and a
/// connection that starts with a PROXY header (which could claim any address) is counted and
/// closed: its reader sees the end of the stream and no byte of it reaches a backend. Anything
/// else passes through untouched. Nothing waits for the client's first byte, so protocols where
/// the server speaks first still work in TCP mode.
/// </summary>
internal sealed class ProxyHeaderGuard(PipeReader inner, ConnectionContext connection, ProxyState state) : PipeReader
{
    private const int Undecided = 0;
    private const int Passed = 1;
    private const int Refused = 2;

    private int _verdict;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => _verdict switch
    {
        Passed => inner.ReadAsync(cancellationToken),
        Refused => ValueTask.FromResult(new ReadResult(default, isCanceled: false, isCompleted: true)),
        _ => FirstReadAsync(cancellationToken),
    };

    public override bool TryRead(out ReadResult result)
    {
        if (_verdict == Passed)
        {
            return inner.TryRead(out result);
        }

        if (_verdict == Refused)
        {
            result = new ReadResult(default, isCanceled: false, isCompleted: true);
            return true;
        }

        if (inner.TryRead(out result) && Judge(ref result))
        {
            return true;
        }

        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        if (_verdict != Refused)
        {
            inner.AdvanceTo(consumed);
        }
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_verdict != Refused)
        {
            inner.AdvanceTo(consumed, examined);
        }
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    private async ValueTask<ReadResult> FirstReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (Judge(ref result))
            {
                return result;
            }
        }
    }

    // True when the result goes to the caller (judged, or canceled); false when more bytes are needed,
    // in which case the bytes were handed back to the pipe unconsumed.
    private bool Judge(ref ReadResult result)
    {
        if (result.IsCanceled)
        {
            return true;
        }

        var buffer = result.Buffer;
        int version = ProxyHeaderParser.Identify(buffer);
        if (version == 0 || (version < 0 && result.IsCompleted))
        {
            _verdict = Passed;
            return true;
        }

        if (version > 0)
        {
            inner.AdvanceTo(buffer.End);
            _verdict = Refused;
            state.Counters.ProxyHeaderRefused(ProxyHeaderError.Untrusted);
            ProxyProtocolLog.Refused(state.Logger, connection.ConnectionId, connection.RemoteEndPoint, ProxyHeaderError.Untrusted);
            connection.Abort(new ConnectionAbortedException("PROXY header from an untrusted source"));
            result = new ReadResult(default, isCanceled: false, isCompleted: true);
            return true;
        }

        inner.AdvanceTo(buffer.Start, buffer.End);
        return false;
    }
}
