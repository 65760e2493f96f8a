using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace PipeBalancer.Tests.Forwarding;

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
