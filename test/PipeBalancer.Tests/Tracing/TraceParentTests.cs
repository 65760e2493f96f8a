using System.Diagnostics;
using System.Text;
using PipeBalancer.Tracing;

namespace PipeBalancer.Tests.Tracing;

/// <summary>W3C traceparent values: what is read, what is refused (treated as absent), and what is written.</summary>
public sealed class TraceParentTests
{
    private const string Valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    [Test]
    public void Valid_GivesItsParts()
    {
        Assert.That(TraceParent.TryParse(Encoding.ASCII.GetBytes(Valid), out var parsed), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(parsed.TraceId.ToHexString(), Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
            Assert.That(parsed.ParentId.ToHexString(), Is.EqualTo("00f067aa0ba902b7"));
            Assert.That(parsed.Sampled, Is.True);
        });
    }

    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false, TestName = "NotSampled")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", true, TestName = "UnknownFlagBits_KeepTheSampledBit")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", false, TestName = "RandomBitOnly_IsNotSampled")]
    [TestCase("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, TestName = "LaterVersion_ExactLength")]
    [TestCase("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", true, TestName = "LaterVersion_WithMoreParts")]
    public void Accepted(string value, bool sampled)
    {
        Assert.That(TraceParent.TryParse(Encoding.ASCII.GetBytes(value), out var parsed), Is.True);
        Assert.That(parsed.Sampled, Is.EqualTo(sampled));
    }

    [TestCase("", TestName = "Empty")]
    [TestCase("00", TestName = "VersionOnly")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", TestName = "TooShort")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", TestName = "Version00_TrailingDash")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010", TestName = "Version00_TooLong")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", TestName = "Version00_TrailingSpace")]
    [TestCase("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "VersionFF")]
    [TestCase("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "VersionNotHex")]
    [TestCase("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "VersionUppercase")]
    [TestCase("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", TestName = "LaterVersion_MoreWithoutDash")]
    [TestCase("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", TestName = "TraceIdUppercase")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01", TestName = "TraceIdNotHex")]
    [TestCase("00-00000000000000000000000000000000-00f067aa0ba902b7-01", TestName = "TraceIdAllZeros")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", TestName = "TraceIdShort_DashMisplaced")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", TestName = "ParentIdUppercase")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01", TestName = "ParentIdNotHex")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", TestName = "ParentIdAllZeros")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", TestName = "FlagsNotHex")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0F", TestName = "FlagsUppercase")]
    [TestCase("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "FirstDelimiterWrong")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", TestName = "SecondDelimiterWrong")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01", TestName = "ThirdDelimiterWrong")]
    [TestCase(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "LeadingSpaceInsideTheValue")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01,00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TestName = "TwoValuesInOne")]
    public void Refused(string value)
    {
        Assert.That(TraceParent.TryParse(Encoding.ASCII.GetBytes(value), out _), Is.False);
    }

    [Test]
    public void Format_WritesVersion00_WithTheSampledBitOnly()
    {
        var traceId = ActivityTraceId.CreateFromString("4bf92f3577b34da6a3ce929d0e0e4736");
        var spanId = ActivitySpanId.CreateFromString("00f067aa0ba902b7");
        var buffer = new byte[TraceParent.Length];
        new TraceParent(traceId, spanId, ActivityTraceFlags.Recorded | (ActivityTraceFlags)0x08).Format(buffer);
        Assert.That(Encoding.ASCII.GetString(buffer), Is.EqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        new TraceParent(traceId, spanId, ActivityTraceFlags.None).Format(buffer);
        Assert.That(Encoding.ASCII.GetString(buffer), Does.EndWith("-00"));
    }

    [Test]
    public void LaterVersion_IsWrittenBackAsVersion00()
    {
        Assert.That(TraceParent.TryParse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"u8, out var parsed), Is.True);
        var buffer = new byte[TraceParent.Length];
        parsed.Format(buffer);
        Assert.That(Encoding.ASCII.GetString(buffer), Is.EqualTo(Valid));
    }
}
