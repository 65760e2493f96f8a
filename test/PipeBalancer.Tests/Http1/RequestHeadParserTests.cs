using System.Buffers;
using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Tests.Http1;

public sealed class RequestHeadParserTests
{
    private static IEnumerable<MalformedRequest> Corpus() => MalformedRequests.All();

    [TestCaseSource(nameof(Corpus))]
    public void MalformedRequest_IsRejectedWithItsReasonAndStatus(MalformedRequest request)
    {
        var (status, reason, _) = ParseAll(request.Bytes);
        if (status == ParseStatus.Complete && request.Reason is RejectReason.InvalidChunkSize or RejectReason.InvalidChunkFraming)
        {
            // The head is fine; the fault is in the chunked body that follows it.
            reason = ReadChunkedBody(request.Bytes);
            status = ParseStatus.Error;
        }

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(reason, Is.EqualTo(request.Reason));
            Assert.That(Rejections.StatusCode(reason), Is.EqualTo(request.Status));
        });
    }

    [TestCaseSource(nameof(Corpus))]
    public void MalformedRequest_IsRejectedTheSame_WhenItArrivesOneByteAtATime(MalformedRequest request)
    {
        // Feed growing prefixes, as a pipe would after each read: the parser must say
        // Incomplete until it can decide, then give the same verdict as for the whole.
        var (wholeStatus, wholeReason, _) = ParseAll(request.Bytes);
        var head = new RequestHead();
        var scratch = new byte[HttpLimits.Default.MaxHeadBytes];
        var whole = OneBytePerSegment(request.Bytes);
        for (int length = 1; length <= request.Bytes.Length; length = length == request.Bytes.Length ? length + 1 : Math.Min(request.Bytes.Length, length + (length < 2048 ? 1 : 509)))
        {
            var sequence = whole.Slice(0, length);
            var status = RequestHeadParser.TryParse(HeadParser.Contiguous(sequence, scratch), head, HttpLimits.Default, out _, out var reason);
            if (status != ParseStatus.Incomplete)
            {
                Assert.Multiple(() =>
                {
                    Assert.That(status, Is.EqualTo(wholeStatus));
                    Assert.That(reason, Is.EqualTo(wholeReason));
                });
                return;
            }
        }

        Assert.That(wholeStatus, Is.EqualTo(ParseStatus.Incomplete));
    }

    [Test]
    public void ValidRequest_ExposesMethodTargetVersionAndFields()
    {
        var (status, _, head) = ParseAll("POST /api/items?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nX-Custom:  spaced value \t\r\n\r\nhello"u8.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(head.Method, Is.EqualTo(RequestMethod.Post));
            Assert.That(Encoding.ASCII.GetString(head.Target), Is.EqualTo("/api/items?x=1"));
            Assert.That(head.IsHttp11, Is.True);
            Assert.That(head.ContentLength, Is.EqualTo(5));
            Assert.That(head.FieldCount, Is.EqualTo(3));
            Assert.That(Encoding.ASCII.GetString(head.Value(head.Find("x-custom"u8))), Is.EqualTo("spaced value"));
            Assert.That(head.Raw.Length, Is.EqualTo(97), "the head ends at the blank line; the body is not part of it");
        });
    }

    [Test]
    public void Consumed_CoversLeadingEmptyLinesAndTheHead()
    {
        var bytes = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next"u8.ToArray();
        var head = new RequestHead();
        var status = RequestHeadParser.TryParse(bytes, head, HttpLimits.Default, out int consumed, out _);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(consumed, Is.EqualTo(4 + 27));
            Assert.That(Encoding.ASCII.GetString(head.Raw.Span), Does.StartWith("GET / HTTP/1.1"));
        });
    }

    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.0\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true)]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false)]
    public void KeepAlive_FollowsVersionAndConnection(string text, bool keepAlive)
    {
        var (status, _, head) = ParseAll(Encoding.ASCII.GetBytes(text));
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(head.KeepAlive, Is.EqualTo(keepAlive));
        });
    }

    [Test]
    public void HopByHopFields_AreMarked_IncludingThoseConnectionNames()
    {
        var (_, _, head) = ParseAll("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: 5\r\nX-Secret: s\r\nTE: trailers\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nX-Kept: k\r\n\r\n"u8.ToArray());
        var dropped = Enumerable.Range(0, head.FieldCount).Where(i => head.Fields[i].Drop).Select(i => Encoding.ASCII.GetString(head.Name(i)));
        Assert.That(dropped, Is.EquivalentTo(new[] { "Connection", "Keep-Alive", "X-Secret", "TE", "Proxy-Connection", "Upgrade" }));
    }

    [Test]
    public void UpgradeRequest_KeepsItsUpgradeField()
    {
        var (_, _, head) = ParseAll("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"u8.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(head.IsUpgrade, Is.True);
            Assert.That(head.Fields[head.Find(FieldKind.Upgrade)].Drop, Is.False);
        });
    }

    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 5L)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", 7L)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n", 0L)]
    public void IdenticalContentLengths_AreAccepted(string text, long length)
    {
        var (status, _, head) = ParseAll(Encoding.ASCII.GetBytes(text));
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(head.ContentLength, Is.EqualTo(length));
        });
    }

    [TestCase("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n")]
    [TestCase("GET /a%20b/%E2%82%AC?q=%2F&x=(1)*;@:,$ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\u00e9\r\n\r\n")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")]
    [TestCase("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n")]
    public void UnusualButValidRequests_AreAccepted(string text)
    {
        var (status, reason, _) = ParseAll(Encoding.Latin1.GetBytes(text));
        Assert.That(status, Is.EqualTo(ParseStatus.Complete), reason.ToString());
    }

    [TestCase("example.com")]
    [TestCase("example.com:8080")]
    [TestCase("EXAMPLE.com.")]
    [TestCase("a_b-c~d.example")]
    [TestCase("192.0.2.1:443")]
    [TestCase("xn--bcher-kva.example")]
    [TestCase("%65xample.com")]
    [TestCase("[::1]")]
    [TestCase("[::1]:8080")]
    [TestCase("[2001:db8::8:800:200c:417a]")]
    [TestCase("[2001:db8:0:0:8:800:200c:417a]:80")]
    [TestCase("[::ffff:192.0.2.1]")]
    [TestCase("[v1.fe80::a+en1]")]
    [TestCase("example.com:")]
    public void ValidAuthorities_AreAcceptedAsHost(string host)
    {
        var (status, reason, _) = ParseAll(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        Assert.That(status, Is.EqualTo(ParseStatus.Complete), reason.ToString());
    }

    [TestCase("[]")]
    [TestCase("[:]")]
    [TestCase("[:::]")]
    [TestCase("[1:2:3:4:5:6:7]")]
    [TestCase("[1:2:3:4:5:6:7:8:9]")]
    [TestCase("[1::2::3]")]
    [TestCase("[12345::1]")]
    [TestCase("[1:2:3:4:5:6:7:]")]
    [TestCase("[::1.2.3]")]
    [TestCase("[::1.2.3.256]")]
    [TestCase("[::01.2.3.4]")]
    [TestCase("[fe80::1%25eth0]")]
    [TestCase("[v.x]")]
    [TestCase("[v1.]")]
    public void MalformedIpLiterals_AreRefusedAsHost(string host)
    {
        var (status, reason, _) = ParseAll(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(reason, Is.EqualTo(RejectReason.InvalidAuthority));
        });
    }

    [Test]
    public void EmptyLinesBeforeTheRequestLine_CountAgainstItsLimit()
    {
        // A view capped at the largest head must be enough to decide: otherwise the connection
        // would keep buffering empty lines without end.
        var limits = HttpLimits.Default with { MaxRequestLineBytes = 64, MaxHeaderBytes = 64 };
        var bytes = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("\r\n", 100)) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var head = new RequestHead();
        var status = RequestHeadParser.TryParse(bytes.AsMemory(0, limits.MaxHeadBytes), head, limits, out _, out var reason);
        var whole = RequestHeadParser.TryParse(bytes, head, limits, out _, out var wholeReason);
        var fits = RequestHeadParser.TryParse(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("\r\n", 20)) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), head, limits, out _, out _);
        Assert.Multiple(() =>
        {
            Assert.That((status, reason), Is.EqualTo((ParseStatus.Error, RejectReason.RequestLineTooLong)), "decided within the largest head");
            Assert.That((whole, wholeReason), Is.EqualTo((ParseStatus.Error, RejectReason.RequestLineTooLong)));
            Assert.That(fits, Is.EqualTo(ParseStatus.Complete), "40 bytes of empty lines and a 14-byte request line fit in 64");
        });
    }

    [TestCase(0)]
    [TestCase(3)]
    public void RequestLineOfExactlyTheLimit_IsAccepted_HoweverItArrives(int emptyLines)
    {
        // Found by afl-fuzz: when a read ended between the CR and the LF of a request line of
        // exactly the limit, the line was refused as too long; arriving at once, it was accepted.
        var limits = HttpLimits.Default with { MaxRequestLineBytes = 64 };
        string empty = string.Concat(Enumerable.Repeat("\r\n", emptyLines));
        string line = "GET /" + new string('a', 64 - 2 * emptyLines - "GET / HTTP/1.1".Length) + " HTTP/1.1";
        var bytes = Encoding.ASCII.GetBytes(empty + line + "\r\nHost: a\r\n\r\n");
        Assert.That(empty.Length + line.Length, Is.EqualTo(64));
        Assert.That(ParseGrowing(bytes, limits), Is.EqualTo((ParseStatus.Complete, RejectReason.None)));
    }

    [Test]
    public void RequestLineOverTheLimit_IsRefused_HoweverItArrives()
    {
        var limits = HttpLimits.Default with { MaxRequestLineBytes = 64 };
        var bytes = Encoding.ASCII.GetBytes("GET /" + new string('a', 65 - "GET / HTTP/1.1".Length) + " HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.That(ParseGrowing(bytes, limits), Is.EqualTo((ParseStatus.Error, RejectReason.RequestLineTooLong)));
    }

    [TestCase(0, ParseStatus.Complete)]
    [TestCase(1, ParseStatus.Error)]
    public void HeaderSectionAtTheLimit_GetsOneVerdict_HoweverItArrives(int over, ParseStatus expected)
    {
        // Found by afl-fuzz: a section of exactly the limit was refused as too large when a read
        // ended just before its last LF.
        var limits = HttpLimits.Default with { MaxHeaderBytes = 64 };
        string fields = "Host: a\r\nX-Pad: " + new string('p', 64 - "Host: a\r\nX-Pad: \r\n".Length + over) + "\r\n";
        var bytes = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n" + fields + "\r\n");
        Assert.That(fields.Length, Is.EqualTo(64 + over));
        var verdict = ParseGrowing(bytes, limits);
        Assert.Multiple(() =>
        {
            Assert.That(verdict.Status, Is.EqualTo(expected));
            Assert.That(verdict.Reason, Is.EqualTo(expected == ParseStatus.Error ? RejectReason.HeadersTooLarge : RejectReason.None));
        });
    }

    [Test]
    public void LimitsAreConfigurable()
    {
        var limits = HttpLimits.Default with { MaxHeaderCount = 2 };
        var head = new RequestHead();
        var status = RequestHeadParser.TryParse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"u8.ToArray(), head, limits, out _, out var reason);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(reason, Is.EqualTo(RejectReason.TooManyHeaders));
        });
    }

    [Test]
    public void ManyFields_AreAllKept_ByTheSameHeadThatParsedAFewBefore()
    {
        // The field table starts small and grows on demand: a head with many fields parsed by
        // a head object that held few keeps every field, and the limit still holds after it.
        var head = new RequestHead(maxFields: 100);
        Assert.That(RequestHeadParser.TryParse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), head, HttpLimits.Default, out _, out _), Is.EqualTo(ParseStatus.Complete));
        head.Reset();
        var many = "GET / HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(0, 99).Select(i => $"X-F{i}: v{i}\r\n")) + "\r\n";
        var status = RequestHeadParser.TryParse(Encoding.ASCII.GetBytes(many), head, HttpLimits.Default, out _, out var reason);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), reason.ToString());
            Assert.That(head.FieldCount, Is.EqualTo(100));
            Assert.That(Encoding.ASCII.GetString(head.Name(0)), Is.EqualTo("Host"));
            Assert.That(Encoding.ASCII.GetString(head.Name(99)), Is.EqualTo("X-F98"));
            Assert.That(Encoding.ASCII.GetString(head.Value(17)), Is.EqualTo("v16"));
        });

        head.Reset();
        var tooMany = "GET / HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"X-F{i}: 1\r\n")) + "\r\n";
        Assert.That(RequestHeadParser.TryParse(Encoding.ASCII.GetBytes(tooMany), head, HttpLimits.Default, out _, out reason), Is.EqualTo(ParseStatus.Error));
        Assert.That(reason, Is.EqualTo(RejectReason.TooManyHeaders));
    }

    private static (ParseStatus Status, RejectReason Reason, RequestHead Head) ParseAll(byte[] bytes)
    {
        var head = new RequestHead();
        var status = RequestHeadParser.TryParse(bytes, head, HttpLimits.Default, out _, out var reason);
        return (status, reason, head);
    }

    // The first verdict over growing prefixes, as a connection sees the head arrive.
    private static (ParseStatus Status, RejectReason Reason) ParseGrowing(byte[] bytes, HttpLimits limits)
    {
        var head = new RequestHead();
        for (int length = 1; length <= bytes.Length; length++)
        {
            var status = RequestHeadParser.TryParse(bytes.AsMemory(0, length), head, limits, out _, out var reason);
            if (status != ParseStatus.Incomplete)
            {
                return (status, reason);
            }
        }

        return (ParseStatus.Incomplete, RejectReason.None);
    }

    private static RejectReason ReadChunkedBody(byte[] bytes)
    {
        var head = new RequestHead();
        RequestHeadParser.TryParse(bytes, head, HttpLimits.Default, out int consumed, out _);
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(bytes, consumed, bytes.Length - consumed), out _, out var reason);
        return status == ParseStatus.Error ? reason : RejectReason.None;
    }

    internal static ReadOnlySequence<byte> OneBytePerSegment(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes[..1].ToArray(), 0);
        var last = first;
        for (int i = 1; i < bytes.Length; i++)
        {
            last = last.Append(bytes.Slice(i, 1).ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
