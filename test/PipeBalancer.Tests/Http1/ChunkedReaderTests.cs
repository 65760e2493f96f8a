using System.Buffers;
using System.Text;
using PipeBalancer.Http1;

namespace PipeBalancer.Tests.Http1;

public sealed class ChunkedReaderTests
{
    [TestCase("0\r\n\r\n")]
    [TestCase("5\r\nhello\r\n0\r\n\r\n")]
    [TestCase("5;name=value\r\nhello\r\n0\r\n\r\n")]
    [TestCase("5 ;ext\r\nhello\r\n0\r\n\r\n")]
    [TestCase("A\r\n0123456789\r\n0\r\nTrailer: x\r\nAnother: y\r\n\r\n")]
    [TestCase("000005\r\nhello\r\n0\r\n\r\n")]
    [TestCase("0000000000000000000000000000000005\r\nhello\r\n00000000000000000000\r\n\r\n")]
    public void ValidBody_CompletesAtItsLastByte(string body)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(body + "NEXT");
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(bytes), out long consumed, out _);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(consumed, Is.EqualTo(body.Length));
        });
    }

    [TestCase("5\r\nhello\r\n0\r\n\r\n")]
    [TestCase("3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n")]
    public void ValidBody_CompletesTheSame_OneByteAtATime(string body)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(body);
        var reader = default(ChunkedReader);
        long total = 0;
        var status = ParseStatus.Incomplete;
        for (int i = 0; i < bytes.Length && status == ParseStatus.Incomplete; i++)
        {
            status = reader.Read(new ReadOnlySequence<byte>(bytes, i, 1), out long consumed, out _);
            total += consumed;
        }

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete));
            Assert.That(total, Is.EqualTo(bytes.Length));
            Assert.That(reader.IsComplete, Is.True);
        });
    }

    [Test]
    public void PartialBody_IsIncomplete_AndCountsAnnouncedData()
    {
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>("400\r\nabc"u8.ToArray()), out long consumed, out _);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Incomplete));
            Assert.That(consumed, Is.EqualTo(8));
            Assert.That(reader.DataBytes, Is.EqualTo(1024));
        });
    }

    [TestCase("5\r\nhello\r\n0\r\nBad\0Trailer: x\r\n\r\n", RejectReason.InvalidChunkFraming)]
    [TestCase("5\r\nhello\r\n0\r\n\n", RejectReason.InvalidChunkFraming)]
    [TestCase("5;\u0001\r\nhello\r\n0\r\n\r\n", RejectReason.InvalidChunkFraming)]
    [TestCase("5 x\r\nhello\r\n0\r\n\r\n", RejectReason.InvalidChunkSize)]
    public void MalformedBody_IsRejected(string body, RejectReason reason)
    {
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(body)), out _, out var actual);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(actual, Is.EqualTo(reason));
        });
    }

    [Test]
    public void ChunkSize_WithManyLeadingZeros_IsReadByItsValue()
    {
        // 33 leading zeros, then e3 (227): the limit is on the value, not on the digits.
        string body = "000000000000000000000000000000000e3\r\n" + new string('x', 0xe3) + "\r\n0\r\n\r\n";
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(body)), out long consumed, out var reason);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Complete), reason.ToString());
            Assert.That(consumed, Is.EqualTo(body.Length));
            Assert.That(reader.DataBytes, Is.EqualTo(0xe3));
        });
    }

    [TestCase("0ffffffffffffffff\r\n", ParseStatus.Incomplete)]
    [TestCase("00000000ffffffffffffffff\r\n", ParseStatus.Incomplete)]
    [TestCase("010000000000000000\r\n", ParseStatus.Error)]
    [TestCase("fffffffffffffffff\r\n", ParseStatus.Error)]
    public void ChunkSize_IsLimitedTo64Bits_WhateverItsLeadingZeros(string sizeLine, ParseStatus expected)
    {
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(sizeLine)), out _, out var reason);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(expected));
            Assert.That(reason, Is.EqualTo(expected == ParseStatus.Error ? RejectReason.InvalidChunkSize : RejectReason.None));
        });
    }

    [Test]
    public void ChunkSizeLine_OfEndlessZeros_IsRefused()
    {
        var reader = default(ChunkedReader);
        var status = reader.Read(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('0', 5000))), out _, out var reason);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(ParseStatus.Error));
            Assert.That(reason, Is.EqualTo(RejectReason.InvalidChunkSize));
        });
    }
}
