using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Tests.Http1;

public sealed class ResponseHeadParserTests
{
    [Test]
    public void ChunkedWithContentLength_IsFramedByChunks_AndSaysItHadBoth()
    {
        var (status, head) = Parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), head.Error.ToString());
            Assert.That(ResponseHeadParser.Framing(head, RequestMethod.Get), Is.EqualTo(BodyFraming.Chunked));
            Assert.That(head.HasContentLengthAndTransferEncoding, Is.True);
            Assert.That(head.Error, Is.EqualTo(RejectReason.None));
        });
    }

    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 5\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [TestCase("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n")]
    public void ContentLengthWithTransferEncodingNotEndingInChunked_IsRefused(string text)
    {
        // The body would run to the close while Content-Length says otherwise (or HTTP/1.0
        // has no chunked at all): no framing a client could agree with.
        var (status, head) = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(head.Error, Is.EqualTo(RejectReason.ContentLengthWithTransferEncoding));
        });
    }

    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: abc\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: abc\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n")]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n")]
    public void InvalidContentLength_IsRefused_WhateverTheFieldOrder(string text)
    {
        var (status, head) = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(head.Error, Is.EqualTo(RejectReason.InvalidContentLength));
        });
    }

    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 2)]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", 2)]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5,5\r\nContent-Length: 5\r\n\r\n", 3)]
    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1)]
    public void IdenticalContentLengths_AreOneValue_AndTheirCountIsReported(string text, int values)
    {
        var (status, head) = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), head.Error.ToString());
            Assert.That(head.ContentLength, Is.EqualTo(5));
            Assert.That(head.ContentLengthValues, Is.EqualTo(values));
            Assert.That(head.HasContentLengthAndTransferEncoding, Is.False);
            Assert.That(ResponseHeadParser.Framing(head, RequestMethod.Get), Is.EqualTo(BodyFraming.ContentLength));
        });
    }

    [Test]
    public void TransferEncodingWithoutChunked_RunsToTheClose()
    {
        var (status, head) = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(ResponseHeadParser.Framing(head, RequestMethod.Get), Is.EqualTo(BodyFraming.CloseDelimited));
        });
    }

    [TestCase("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n", 200, true)]
    [TestCase("HTTP/1.1 204 \r\n\r\n", 204, true)]
    [TestCase("HTTP/1.0 404\r\n\r\n", 404, false)]
    public void StatusLineWithoutReason_IsAccepted_WithOrWithoutItsSpace(string text, int code, bool http11)
    {
        var (status, head) = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), head.Error.ToString());
            Assert.That(head.Status, Is.EqualTo(code));
            Assert.That(head.IsHttp11, Is.EqualTo(http11));
        });
    }

    [TestCase("HTTP/1.1 2000\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 20\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 200X\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 OK\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/2.0 200 OK\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 099 Low\r\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 200 OK\n\r\n", RejectReason.InvalidStatusLine)]
    [TestCase("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", RejectReason.ObsoleteLineFolding)]
    [TestCase("HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n", RejectReason.WhitespaceBeforeColon)]
    [TestCase("HTTP/1.1 200 OK\r\nX-A: a\0\r\n\r\n", RejectReason.InvalidFieldValue)]
    [TestCase("HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\n\r\n", RejectReason.InvalidLineEnding)]
    public void MalformedHead_SaysWhy(string text, RejectReason reason)
    {
        var (status, head) = Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(head.Error, Is.EqualTo(reason));
        });
    }

    [Test]
    public void OversizedHead_SaysWhy()
    {
        var (status, head) = Parse("HTTP/1.1 200 OK\r\nX-Big: " + new string('a', ResponseHeadParser.MaxHeadBytes) + "\r\n\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(head.Error, Is.EqualTo(RejectReason.HeadersTooLarge));
        });
    }

    [Test]
    public void OversizedStatusLine_IsRefused_WithOrWithoutItsLineFeed()
    {
        // Without its LF the line is refused past the limit; with it, it must be too, or the
        // verdict would depend on where a read ends.
        string line = "HTTP/1.1 200 " + new string('a', ResponseHeadParser.MaxHeadBytes);
        var (whole, head) = Parse(line + "\r\n\r\n");
        var (partial, _) = Parse(line);
        Assert.Multiple(() =>
        {
            Assert.That((whole, head.Error), Is.EqualTo((ParseStatus.Error, RejectReason.HeadersTooLarge)));
            Assert.That(partial, Is.EqualTo(ParseStatus.Error));
        });
    }

    [Test]
    public void ErrorIsCleared_WhenTheHeadIsReused()
    {
        var head = new ResponseHead();
        ResponseHeadParser.TryParse(Encoding.ASCII.GetBytes("HTTP/1.1 OK\r\n\r\n"), head, 100, out _);
        var status = ResponseHeadParser.TryParse(Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\n\r\n"), head, 100, out _);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(head.Error, Is.EqualTo(RejectReason.None));
            Assert.That(head.ContentLengthValues, Is.Zero);
        });
    }

    private static (ParseStatus Status, ResponseHead Head) Parse(string text)
    {
        var head = new ResponseHead();
        var status = ResponseHeadParser.TryParse(Encoding.Latin1.GetBytes(text), head, 100, out _);
        return (status, head);
    }
}
