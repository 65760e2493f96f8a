using System.Text;
using System.Text.Json;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

public sealed class AccessLogTests
{
    [Test]
    public async Task TextLines_QuoteTheRequest_AndEscapeWhatWouldBreakTheLine()
    {
        var output = new MemoryStream();
        await using (var log = new AccessLog(output, json: false))
        {
            log.Write("10.0.0.7"u8, "GET"u8, "/users/1?x=2"u8, http11: true, 200, "s1", System.Diagnostics.Stopwatch.GetTimestamp());
            log.Write("::1"u8, "POST"u8, "/a\"b"u8, http11: false, 502, null, System.Diagnostics.Stopwatch.GetTimestamp());
        }

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[0], Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 10\.0\.0\.7 ""GET /users/1\?x=2 HTTP/1\.1"" 200 s1 \d+\.\d{3}$"));
        Assert.That(lines[1], Does.Contain(@"""POST /a\x22b HTTP/1.0"" 502 - "));
    }

    [Test]
    public async Task DisposedTwice_WritesEveryLineOnce_AndDoesNotThrow()
    {
        var output = new MemoryStream();
        var log = new AccessLog(output, json: false);
        log.Write("10.0.0.7"u8, "GET"u8, "/"u8, http11: true, 200, "s1", System.Diagnostics.Stopwatch.GetTimestamp());
        await log.DisposeAsync();
        Assert.DoesNotThrowAsync(async () => await log.DisposeAsync());
        Assert.That(Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task JsonLines_Parse_WithEveryField()
    {
        var output = new MemoryStream();
        await using (var log = new AccessLog(output, json: true))
        {
            log.Write("127.0.0.1"u8, "GET"u8, "/q\u0001"u8, http11: true, 404, "b2", System.Diagnostics.Stopwatch.GetTimestamp());
        }

        using var line = JsonDocument.Parse(Encoding.UTF8.GetString(output.ToArray()).Trim());
        var root = line.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("client").GetString(), Is.EqualTo("127.0.0.1"));
            Assert.That(root.GetProperty("method").GetString(), Is.EqualTo("GET"));
            Assert.That(root.GetProperty("target").GetString(), Is.EqualTo("/q\u0001"));
            Assert.That(root.GetProperty("version").GetString(), Is.EqualTo("HTTP/1.1"));
            Assert.That(root.GetProperty("status").GetInt32(), Is.EqualTo(404));
            Assert.That(root.GetProperty("backend").GetString(), Is.EqualTo("b2"));
            Assert.That(root.GetProperty("ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(DateTimeOffset.Parse(root.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(5)));
        });
    }

    [Test]
    public async Task LinesThatFitTheTwoBuffers_AllArrive_InOrder()
    {
        var output = new MemoryStream();
        await using (var log = new AccessLog(output, json: false))
        {
            // About 70 bytes a line: 1,500 lines fit the two 64 KB buffers even if the writer never runs meanwhile.
            for (int i = 0; i < 1500; i++)
            {
                log.Write("10.0.0.1"u8, "GET"u8, Encoding.ASCII.GetBytes($"/n/{i}"), http11: true, 200, "s1", System.Diagnostics.Stopwatch.GetTimestamp());
            }

            Assert.That(log.Dropped, Is.Zero);
        }

        var all = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var numbers = all.Select(l => int.Parse(l.Split(' ')[3].Split('/')[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, 1500)), "every line, once, in the order of the requests");
    }

    [Test]
    public async Task ABlockedOutput_DropsLines_AndCountsThem_InsteadOfBlockingRequests()
    {
        using var blocked = new BlockedStream();
        await using var log = new AccessLog(blocked, json: false);
        var target = new string('x', 3000);
        for (int i = 0; i < 100; i++)
        {
            log.Write("10.0.0.1"u8, "GET"u8, Encoding.ASCII.GetBytes("/" + target), http11: true, 200, "s1", System.Diagnostics.Stopwatch.GetTimestamp());
        }

        Assert.That(log.Dropped, Is.GreaterThan(0), "two 64 KB buffers hold about 40 of these lines");
        blocked.Release();
    }

    // Blocks every write until released, as a stalled pipe would.
    private sealed class BlockedStream : MemoryStream
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _gate.Task.ConfigureAwait(false);
            await base.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }
}
