using System.Buffers;
using System.Net;
using System.Net.Sockets;
using PipeBalancer.Http1;
using PipeBalancer.ProxyProtocol;
using PipeBalancer.Tests.Http1;

namespace PipeBalancer.Tests.ProxyProtocol;

public sealed class ProxyHeaderParserTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    // Valid headers, each followed by payload the parser must leave alone.
    private static IEnumerable<TestCaseData> ValidHeaders()
    {
        yield return Case("v1 TCP4", "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n"u8.ToArray(), "203.0.113.7:51234", "198.51.100.1:443");
        yield return Case("v1 TCP6", "PROXY TCP6 2001:db8::7 2001:db8:0:0:0:0:0:1 0 65535\r\n"u8.ToArray(), "[2001:db8::7]:0", "[2001:db8::1]:65535");
        yield return Case("v1 TCP6 mapped", "PROXY TCP6 ::ffff:192.0.2.1 :: 1 2\r\n"u8.ToArray(), "[::ffff:192.0.2.1]:1", "[::]:2");
        yield return Case("v1 UNKNOWN", "PROXY UNKNOWN\r\n"u8.ToArray(), null, null);
        yield return Case("v1 UNKNOWN with fields", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"u8.ToArray(), null, null);
        yield return Case("v2 INET", V2(0x21, 0x11, [203, 0, 113, 7, 198, 51, 100, 1, 0xC8, 0x22, 0x01, 0xBB]), "203.0.113.7:51234", "198.51.100.1:443");
        yield return Case("v2 INET with TLVs", V2(0x21, 0x11, [203, 0, 113, 7, 198, 51, 100, 1, 0xC8, 0x22, 0x01, 0xBB, 0x01, 0x00, 0x02, (byte)'h', (byte)'2', 0x04, 0x00, 0x00]),
            "203.0.113.7:51234", "198.51.100.1:443");
        yield return Case("v2 INET6", V2(0x21, 0x21, [.. IPAddress.Parse("2001:db8::7").GetAddressBytes(), .. IPAddress.Parse("2001:db8::1").GetAddressBytes(), 0, 80, 1, 0xBB]),
            "[2001:db8::7]:80", "[2001:db8::1]:443");
        yield return Case("v2 LOCAL", V2(0x20, 0x00, []), null, null);
        yield return Case("v2 LOCAL with an address block", V2(0x20, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]), null, null);
        yield return Case("v2 UNSPEC", V2(0x21, 0x00, [0x03, 0x00, 0x04, 1, 2, 3, 4]), null, null);
        yield return Case("v2 UNIX", V2(0x21, 0x31, new byte[216]), null, null);
    }

    private static IEnumerable<TestCaseData> MalformedHeaders()
    {
        string[] v1 =
        [
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\n",
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443 \r\n",
            "PROXY TCP4  203.0.113.7 198.51.100.1 51234 443\r\n",
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234\r\n",
            "PROXY TCP4 203.0.113.7 198.51.100.1 51234 65536\r\n",
            "PROXY TCP4 203.0.113.7 198.51.100.1 051234 443\r\n",
            "PROXY TCP4 203.0.113.07 198.51.100.1 1 443\r\n",
            "PROXY TCP4 203.0.113 198.51.100.1 1 443\r\n",
            "PROXY TCP4 203.0.113.256 198.51.100.1 1 443\r\n",
            "PROXY TCP4 127.1 198.51.100.1 1 443\r\n",
            "PROXY TCP4 2001:db8::1 198.51.100.1 1 443\r\n",
            "PROXY TCP6 203.0.113.7 2001:db8::1 1 443\r\n",
            "PROXY TCP6 2001:db8::1::2 2001:db8::1 1 443\r\n",
            "PROXY TCP6 2001:db8:1:2:3:4:5:6:7 2001:db8::1 1 443\r\n",
            "PROXY TCP6 fe80::1%eth0 2001:db8::1 1 443\r\n",
            "PROXY TCP6 2001:db8::12345 2001:db8::1 1 443\r\n",
            "PROXY TCP6 2001:db8: 2001:db8::1 1 443\r\n",
            "PROXY UDP4 203.0.113.7 198.51.100.1 1 443\r\n",
            "PROXY UNKNOWNX\r\n",
            "PROXY \r\n",
            "PROXY tcp4 203.0.113.7 198.51.100.1 1 443\r\n",
            "PROXY TCP4 203.0.113.7 198.51.100.1 1 4\r43\r\n",
            "PROXY UNKNOWN " + new string('x', 100) + "\r\n",
        ];
        foreach (string text in v1)
        {
            yield return new TestCaseData(System.Text.Encoding.ASCII.GetBytes(text)).SetArgDisplayNames(text.Length > 60 ? text[..60] : text.TrimEnd());
        }

        yield return new TestCaseData(V2(0x11, 0x11, new byte[12])).SetArgDisplayNames("v2 with version 1");
        yield return new TestCaseData(V2(0x22, 0x11, new byte[12])).SetArgDisplayNames("v2 command 2");
        yield return new TestCaseData(V2(0x21, 0x41, new byte[12])).SetArgDisplayNames("v2 family 4");
        yield return new TestCaseData(V2(0x21, 0x13, new byte[12])).SetArgDisplayNames("v2 transport 3");
        yield return new TestCaseData(V2(0x21, 0x11, new byte[11])).SetArgDisplayNames("v2 INET block short");
        yield return new TestCaseData(V2(0x21, 0x21, new byte[12])).SetArgDisplayNames("v2 INET6 block short");
        yield return new TestCaseData(V2(0x21, 0x12, new byte[12])).SetArgDisplayNames("v2 INET over DGRAM");
        yield return new TestCaseData(V2(0x21, 0x11, [.. new byte[12], 0x01, 0x00])).SetArgDisplayNames("v2 TLV header cut");
        yield return new TestCaseData(V2(0x21, 0x11, [.. new byte[12], 0x01, 0x00, 0x05, 1, 2])).SetArgDisplayNames("v2 TLV past the end");
    }

    [TestCaseSource(nameof(ValidHeaders))]
    public void ValidHeader_ParsesWhole_AndLeavesWhatFollows(byte[] header, string? source, string? destination)
    {
        byte[] bytes = [.. header, .. "GET / HTTP/1.1\r\n"u8];
        var status = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(bytes), ProxyVersions.Any, out var parsed, out int consumed, out var error);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), error.ToString());
            Assert.That(consumed, Is.EqualTo(header.Length));
            Assert.That(parsed.HasAddresses, Is.EqualTo(source is not null));
            if (source is not null)
            {
                Assert.That(parsed.SourceEndPoint().ToString(), Is.EqualTo(source));
                Assert.That(parsed.DestinationEndPoint().ToString(), Is.EqualTo(destination));
            }
        });
    }

    [TestCaseSource(nameof(ValidHeaders))]
    public void ValidHeader_CutAtEveryByte_OneBytePerSegment_IsIncompleteUntilWhole(byte[] header, string? source, string? destination)
    {
        var whole = RequestHeadParserTests.OneBytePerSegment([.. header, .. "x"u8]);
        for (int length = 0; length < header.Length; length++)
        {
            var status = ProxyHeaderParser.TryParse(whole.Slice(0, length), ProxyVersions.Any, out _, out _, out var error);
            Assert.That(status, Is.EqualTo(ParseStatus.Incomplete), $"cut at {length}: {error}");
        }

        var complete = ProxyHeaderParser.TryParse(whole, ProxyVersions.Any, out var parsed, out int consumed, out _);
        Assert.Multiple(() =>
        {
            Assert.That(complete, Is.EqualTo(ParseStatus.Complete));
            Assert.That(consumed, Is.EqualTo(header.Length));
            Assert.That(parsed.HasAddresses ? parsed.SourceEndPoint().ToString() : null, Is.EqualTo(source));
        });
    }

    [TestCaseSource(nameof(MalformedHeaders))]
    public void MalformedHeader_IsAnError_WholeOrOneBytePerSegment(byte[] header)
    {
        var status = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(header), ProxyVersions.Any, out _, out _, out var error);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(error, Is.EqualTo(ProxyHeaderError.Malformed));
        });

        // Growing prefixes: incomplete, then the same error, never a header.
        var whole = RequestHeadParserTests.OneBytePerSegment(header);
        for (int length = 0; length <= header.Length; length++)
        {
            var cut = ProxyHeaderParser.TryParse(whole.Slice(0, length), ProxyVersions.Any, out _, out _, out _);
            Assert.That(cut, Is.Not.EqualTo(ParseStatus.Complete), $"cut at {length}");
        }
    }

    [Test]
    public void V1LineWithoutLineFeed_IsAnError_At107Bytes()
    {
        byte[] line = [.. "PROXY TCP4 "u8, .. Enumerable.Repeat((byte)'1', 96)];
        Assert.Multiple(() =>
        {
            Assert.That(ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(line[..106]), ProxyVersions.Any, out _, out _, out _), Is.EqualTo(ParseStatus.Incomplete));
            Assert.That(ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(line), ProxyVersions.Any, out _, out _, out var error), Is.EqualTo(ParseStatus.Error));
        });
    }

    [TestCase("GET / HTTP/1.1\r\n")]
    [TestCase("\u0016\u0003\u0001")]
    [TestCase("PROXX")]
    [TestCase("\r\n\r\n\u0000\r\nQUIX")]
    public void OtherBytes_AreAMissingHeader(string text)
    {
        var status = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(System.Text.Encoding.Latin1.GetBytes(text)), ProxyVersions.Any, out _, out _, out var error);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(error, Is.EqualTo(ProxyHeaderError.Missing));
        });
    }

    [Test]
    public void VersionNotAccepted_IsRefusedOnItsPrefix()
    {
        var v2 = new ReadOnlySequence<byte>(Signature);
        var v1 = new ReadOnlySequence<byte>("PROXY "u8.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(ProxyHeaderParser.TryParse(v2, ProxyVersions.V1, out _, out _, out var e2), Is.EqualTo(ParseStatus.Error));
            Assert.That(e2, Is.EqualTo(ProxyHeaderError.Version));
            Assert.That(ProxyHeaderParser.TryParse(v1, ProxyVersions.V2, out _, out _, out var e1), Is.EqualTo(ParseStatus.Error));
            Assert.That(e1, Is.EqualTo(ProxyHeaderError.Version));
        });
    }

    [Test]
    public void Parse_AllocatesNothing()
    {
        var v1 = new ReadOnlySequence<byte>("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n"u8.ToArray());
        var v2 = new ReadOnlySequence<byte>(V2(0x21, 0x11, [203, 0, 113, 7, 198, 51, 100, 1, 0xC8, 0x22, 0x01, 0xBB, 0x04, 0x00, 0x00]));
        var split = RequestHeadParserTests.OneBytePerSegment("PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n"u8);
        for (int warm = 0; warm < 2; warm++)
        {
            ProxyHeaderParser.TryParse(v1, ProxyVersions.Any, out _, out _, out _);
            ProxyHeaderParser.TryParse(v2, ProxyVersions.Any, out _, out _, out _);
            ProxyHeaderParser.TryParse(split, ProxyVersions.Any, out _, out _, out _);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            ProxyHeaderParser.TryParse(v1, ProxyVersions.Any, out _, out _, out _);
            ProxyHeaderParser.TryParse(v2, ProxyVersions.Any, out _, out _, out _);
            ProxyHeaderParser.TryParse(split, ProxyVersions.Any, out _, out _, out _);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [TestCase(1, "203.0.113.7", 51234, "198.51.100.1", 443, "203.0.113.7:51234")]
    [TestCase(2, "203.0.113.7", 51234, "198.51.100.1", 443, "203.0.113.7:51234")]
    [TestCase(1, "2001:db8::7", 80, "2001:db8::1", 8080, "[2001:db8::7]:80")]
    [TestCase(2, "2001:db8::7", 80, "2001:db8::1", 8080, "[2001:db8::7]:80")]
    [TestCase(1, "::ffff:203.0.113.7", 1, "::ffff:198.51.100.1", 2, "203.0.113.7:1")]
    [TestCase(2, "203.0.113.7", 1, "2001:db8::1", 2, "[::ffff:203.0.113.7]:1")]
    public void Writer_WritesWhatTheParserReadsBack(int headerVersion, string client, int clientPort, string local, int localPort, string expected)
    {
        var version = headerVersion == 1 ? ProxySend.V1 : ProxySend.V2;
        var buffer = new ArrayBufferWriter<byte>();
        ProxyHeaderWriter.Write(buffer, version, new IPEndPoint(IPAddress.Parse(client), clientPort), new IPEndPoint(IPAddress.Parse(local), localPort));
        var status = ProxyHeaderParser.TryParse(new ReadOnlySequence<byte>(buffer.WrittenMemory), version == ProxySend.V1 ? ProxyVersions.V1 : ProxyVersions.V2,
            out var parsed, out int consumed, out _);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(consumed, Is.EqualTo(buffer.WrittenCount));
            Assert.That(parsed.SourceEndPoint().ToString(), Is.EqualTo(expected));
            Assert.That(parsed.DestinationEndPoint().Port, Is.EqualTo(localPort));
        });
    }

    [Test]
    public void Writer_WithoutIpEndpoints_SaysUnknownOrLocal()
    {
        var v1 = new ArrayBufferWriter<byte>();
        ProxyHeaderWriter.Write(v1, ProxySend.V1, null, null);
        var v2 = new ArrayBufferWriter<byte>();
        ProxyHeaderWriter.Write(v2, ProxySend.V2, new UnixDomainSocketEndPoint("/tmp/x"), null);
        Assert.Multiple(() =>
        {
            Assert.That(v1.WrittenSpan.ToArray(), Is.EqualTo("PROXY UNKNOWN\r\n"u8.ToArray()));
            Assert.That(v2.WrittenSpan.ToArray(), Is.EqualTo(V2(0x20, 0x00, [])));
        });
    }

    [Test]
    public void Writer_V1_IsTheTextTheSpecificationShows()
    {
        var buffer = new ArrayBufferWriter<byte>();
        ProxyHeaderWriter.Write(buffer, ProxySend.V1, new IPEndPoint(IPAddress.Parse("192.168.0.1"), 56324), new IPEndPoint(IPAddress.Parse("192.168.0.11"), 443));
        Assert.That(System.Text.Encoding.ASCII.GetString(buffer.WrittenSpan), Is.EqualTo("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
    }

    private static TestCaseData Case(string name, byte[] header, string? source, string? destination) =>
        new TestCaseData(header, source, destination).SetArgDisplayNames(name);

    private static byte[] V2(byte versionCommand, byte familyTransport, byte[] rest) =>
        [.. Signature, versionCommand, familyTransport, (byte)(rest.Length >> 8), (byte)rest.Length, .. rest];
}
