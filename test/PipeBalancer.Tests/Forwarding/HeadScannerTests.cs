using System.Buffers;
using System.Text;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

public sealed class HeadScannerTests
{
    [Test]
    public void HeadInOneBytePieces_IsParsedAFewTimes_NotOncePerPiece()
    {
        var head = new StringBuilder("GET / HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 200; i++)
        {
            head.Append(System.Globalization.CultureInfo.InvariantCulture, $"X-Field-{i}: value\r\n");
        }

        head.Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(head.ToString());
        var scanner = default(HeadScanner);
        int parses = 0;
        int lastParseAt = 0;
        for (int length = 1; length <= bytes.Length; length++)
        {
            if (scanner.ShouldParse(new ReadOnlySequence<byte>(bytes, 0, length), 8 * 1024, 40 * 1024))
            {
                parses++;
                lastParseAt = length;
            }
        }

        Assert.Multiple(() =>
        {
            // First look, first line, each doubling (log2 of ~4,800 bytes), the empty line.
            Assert.That(parses, Is.LessThanOrEqualTo(16), $"{bytes.Length} bytes");
            Assert.That(lastParseAt, Is.EqualTo(bytes.Length), "the parse that completes the head happens on its last byte");
        });
    }

    [Test]
    public void BareLfEmptyLine_CallsForAParse()
    {
        var scanner = default(HeadScanner);
        Assert.That(scanner.ShouldParse(Seq("GET / HT"), 8192, 40000), Is.True, "first look");
        Assert.That(scanner.ShouldParse(Seq("GET / HTTP/1.1\nHos"), 8192, 40000), Is.True, "first line complete");
        Assert.That(scanner.ShouldParse(Seq("GET / HTTP/1.1\nHost: x"), 8192, 40000), Is.False);
        Assert.That(scanner.ShouldParse(Seq("GET / HTTP/1.1\nHost: x\n\n"), 8192, 40000), Is.True, "empty line");
    }

    private static ReadOnlySequence<byte> Seq(string text) => new(Encoding.ASCII.GetBytes(text));
}
