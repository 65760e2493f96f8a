using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>Two in-memory pipes that stand for a TCP connection: the proxy's end and the peer's end.</summary>
internal sealed class InMemoryConnection
{
    public static readonly PipeOptions Options = new(
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19);

    public InMemoryConnection()
    {
        var toProxy = new Pipe(Options);
        var toPeer = new Pipe(Options);
        ProxySide = new DuplexPipe(toProxy.Reader, toPeer.Writer);
        PeerSide = new DuplexPipe(toPeer.Reader, toProxy.Writer);
    }

    /// <summary>What the balancer reads and writes.</summary>
    public IDuplexPipe ProxySide { get; }

    /// <summary>What the client or backend at the other end reads and writes.</summary>
    public IDuplexPipe PeerSide { get; }

    public sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}

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

/// <summary>Reading and writing HTTP/1.1 text on the peer end of an in-memory connection.</summary>
internal static class PipeText
{
    public static async Task SendAsync(PipeWriter output, string text)
    {
        await output.WriteAsync(Encoding.Latin1.GetBytes(text));
    }

    /// <summary>Reads up to and including the blank line after a head; null when the pipe ended first.</summary>
    public static async Task<string?> ReadHeadAsync(PipeReader input)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            var text = Encoding.Latin1.GetString(result.Buffer);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                input.AdvanceTo(result.Buffer.GetPosition(end + 4));
                return text[..(end + 4)];
            }

            if (result.IsCompleted)
            {
                input.AdvanceTo(result.Buffer.End);
                return null;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes; fewer when the pipe ends first.</summary>
    public static async Task<string> ReadExactlyAsync(PipeReader input, int length)
    {
        var text = new StringBuilder();
        while (text.Length < length)
        {
            var result = await input.ReadAsync();
            var take = result.Buffer.Slice(0, Math.Min(result.Buffer.Length, length - text.Length));
            text.Append(Encoding.Latin1.GetString(take));
            input.AdvanceTo(take.End);
            if (result.IsCompleted && take.Length == 0)
            {
                break;
            }
        }

        return text.ToString();
    }

    /// <summary>Reads until the pipe ends (or fails).</summary>
    public static async Task<string> ReadToEndAsync(PipeReader input)
    {
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                text.Append(Encoding.Latin1.GetString(result.Buffer));
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (ConnectionAbortedException)
        {
            text.Append("<aborted>");
        }

        return text.ToString();
    }

    /// <summary>Reads one response with a Content-Length body (or none): head and body as text.</summary>
    public static async Task<(string Head, string Body)> ReadResponseAsync(PipeReader input)
    {
        var head = await ReadHeadAsync(input) ?? throw new InvalidOperationException("the connection ended before a response");
        int length = 0;
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return (head, length > 0 ? await ReadExactlyAsync(input, length) : "");
    }
}
