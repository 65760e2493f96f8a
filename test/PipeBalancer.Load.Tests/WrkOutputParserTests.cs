using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

// The files under WrkOutputs/ are real outputs of wrk 4.1.0 (Debian) with --latency against nginx.
public sealed class WrkOutputParserTests
{
    private static string Captured(string name) => File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "WrkOutputs", name));

    private static WrkResult Parse(string name)
    {
        Assert.That(WrkOutputParser.TryParse(Captured(name), out var result, out var error), Is.True, error);
        return result!;
    }

    [Test]
    public void NonSuccessResponses_AreCountedAsErrors()
    {
        var r = Parse("non2xx.txt");

        Assert.Multiple(() =>
        {
            Assert.That(r.Requests, Is.EqualTo(58089));
            Assert.That(r.Seconds, Is.EqualTo(3.02).Within(1e-9));
            Assert.That(r.RequestsPerSecond, Is.EqualTo(19227.33).Within(1e-9));
            Assert.That(r.P50Ms, Is.EqualTo(1.34).Within(1e-9));
            Assert.That(r.P99Ms, Is.EqualTo(53.91).Within(1e-9));
            Assert.That(r.Non2xx, Is.EqualTo(5809));
            Assert.That(r.SocketErrors, Is.EqualTo(SocketErrors.None));
            Assert.That(r.Errors, Is.EqualTo(5809));
            Assert.That(r.BytesPerSecond, Is.EqualTo(3.00 * 1024 * 1024).Within(1e-6));
        });
    }

    [Test]
    public void SocketErrors_AreReadFieldByField_AndAddedToNonSuccessResponses()
    {
        var r = Parse("socket-errors.txt");

        Assert.Multiple(() =>
        {
            Assert.That(r.SocketErrors, Is.EqualTo(new SocketErrors(0, 22482, 0, 0)));
            Assert.That(r.Non2xx, Is.EqualTo(262));
            Assert.That(r.Errors, Is.EqualTo(22482 + 262));
            Assert.That(r.Requests, Is.EqualTo(2612));
            Assert.That(r.BytesPerSecond, Is.EqualTo(136.15 * 1024).Within(1e-6));
            Assert.That(r.P50Ms, Is.EqualTo(9.53).Within(1e-9));
            Assert.That(r.P99Ms, Is.EqualTo(66.39).Within(1e-9));
        });
    }

    [Test]
    public void LargeResponses_GiveThroughputInMegabytes()
    {
        var r = Parse("large-responses.txt");

        Assert.Multiple(() =>
        {
            Assert.That(r.MegabytesPerSecond, Is.EqualTo(586.59).Within(1e-9));
            Assert.That(r.RequestsPerSecond, Is.EqualTo(2344.01).Within(1e-9));
            Assert.That(r.P99Ms, Is.EqualTo(112.49).Within(1e-9));
            Assert.That(r.Errors, Is.Zero);
        });
    }

    [Test]
    public void ConnectionClose_RunIsRead()
    {
        var r = Parse("connection-close.txt");

        Assert.Multiple(() =>
        {
            Assert.That(r.Requests, Is.EqualTo(14366));
            Assert.That(r.Non2xx, Is.EqualTo(1436));
            Assert.That(r.P99Ms, Is.EqualTo(210.29).Within(1e-9));
        });
    }

    [Test]
    public void NoResponses_ParsesAsZeroRequests()
    {
        var r = Parse("no-responses.txt");

        Assert.Multiple(() =>
        {
            Assert.That(r.Requests, Is.Zero);
            Assert.That(r.RequestsPerSecond, Is.Zero);
            Assert.That(r.P99Ms, Is.Zero);
        });
    }

    [Test]
    public void UnreachableTarget_IsAnError_QuotingWrk()
    {
        Assert.That(WrkOutputParser.TryParse(Captured("unreachable.txt"), out var result, out var error), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.Null);
            Assert.That(error, Does.Contain("'N requests in ...'"));
            Assert.That(error, Does.Contain("unable to connect to 127.0.0.1:1 Connection refused"));
        });
    }

    [Test]
    public void OutputWithoutLatencyDistribution_IsAnError()
    {
        var text = string.Join('\n', Captured("non2xx.txt").Split('\n').Where(l => !l.Contains('%', StringComparison.Ordinal)));

        Assert.That(WrkOutputParser.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("latency distribution"));
    }

    [Test]
    public void MalformedSocketErrorLine_IsAnError()
    {
        var text = Captured("socket-errors.txt").Replace("read 22482", "read many", StringComparison.Ordinal);

        Assert.That(WrkOutputParser.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("Socket errors: connect 0, read many"));
    }

    [TestCase("812.00us", 0.812)]
    [TestCase("1.23ms", 1.23)]
    [TestCase("1.02s", 1020)]
    [TestCase("2.00m", 120_000)]
    public void Durations_AreConvertedToMilliseconds(string text, double ms)
    {
        Assert.That(WrkOutputParser.TryParseDuration(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(ms).Within(1e-9));
    }

    [TestCase("0.00B", 0)]
    [TestCase("136.15KB", 136.15 * 1024)]
    [TestCase("1.76GB", 1.76 * 1024 * 1024 * 1024)]
    public void Bytes_UseBinaryUnits(string text, double bytes)
    {
        Assert.That(WrkOutputParser.TryParseBytes(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(bytes).Within(1e-3));
    }

    [TestCase("12 ms")]
    [TestCase("ms")]
    [TestCase("1.2x")]
    public void BadDurations_AreRefused(string text) =>
        Assert.That(WrkOutputParser.TryParseDuration(text, out _), Is.False);
}
