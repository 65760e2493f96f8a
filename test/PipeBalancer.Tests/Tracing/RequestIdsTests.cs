using System.Text;
using PipeBalancer.Tracing;

namespace PipeBalancer.Tests.Tracing;

/// <summary>Request ids a client may send, and the ones the balancer makes.</summary>
public sealed class RequestIdsTests
{
    [TestCase("a", TestName = "OneCharacter")]
    [TestCase("f47ac10b-58cc-4372-a567-0e02b2c3d479", TestName = "Uuid")]
    [TestCase("!~\"\\{}", TestName = "PunctuationAtTheEdgesOfVisibleAscii")]
    public void Kept(string id) => Assert.That(RequestIds.IsValid(Encoding.ASCII.GetBytes(id)), Is.True);

    [Test]
    public void Kept_AtTheLengthLimit() => Assert.That(RequestIds.IsValid(Encoding.ASCII.GetBytes(new string('x', 200))), Is.True);

    [Test]
    public void Replaced_OverTheLengthLimit() => Assert.That(RequestIds.IsValid(Encoding.ASCII.GetBytes(new string('x', 201))), Is.False);

    [TestCase("", TestName = "Empty")]
    [TestCase("a b", TestName = "Space")]
    [TestCase("a\tb", TestName = "Tab")]
    [TestCase("a\u007fb", TestName = "Delete")]
    public void Replaced(string id) => Assert.That(RequestIds.IsValid(Encoding.ASCII.GetBytes(id)), Is.False);

    [Test]
    public void Replaced_NonAscii() => Assert.That(RequestIds.IsValid("caf\u00e9"u8), Is.False);

    [Test]
    public void Generated_AreLowercaseHex_ValidAndDistinct()
    {
        var seen = new HashSet<string>();
        var buffer = new byte[RequestIds.GeneratedLength];
        for (int i = 0; i < 1000; i++)
        {
            RequestIds.Generate(buffer);
            string id = Encoding.ASCII.GetString(buffer);
            Assert.That(id, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(RequestIds.IsValid(buffer), Is.True);
            seen.Add(id);
        }

        Assert.That(seen, Has.Count.EqualTo(1000));
    }
}
