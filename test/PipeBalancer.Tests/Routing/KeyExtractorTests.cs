using System.Net;
using System.Text;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class KeyExtractorTests
{
    [TestCase("/a/b?x=1", false, "/a/b")]
    [TestCase("/a/b?x=1", true, "/a/b?x=1")]
    [TestCase("/", false, "/")]
    [TestCase("/?", false, "/")]
    [TestCase("*", false, "*")]
    [TestCase("http://example.com/a?q", false, "/a")]
    [TestCase("http://example.com/a?q", true, "/a?q")]
    [TestCase("http://example.com", false, "/")]
    [TestCase("http://example.com?q=1", false, "/")]
    [TestCase("http://example.com?q=1", true, "?q=1")]
    [TestCase("/%7Euser/caf%C3%A9", false, "/%7Euser/caf%C3%A9")]
    public void FromTarget_TakesThePathAsSent(string target, bool includeQuery, string expected) =>
        Assert.That(Encoding.ASCII.GetString(KeyExtractor.FromTarget(Encoding.ASCII.GetBytes(target), includeQuery)), Is.EqualTo(expected));

    [TestCase("session=abc123", "session", "abc123")]
    [TestCase("a=1; session=abc; b=2", "session", "abc")]
    [TestCase("a=1;session=\"quoted\"", "session", "quoted")]
    [TestCase("xsession=1; session=2", "session", "2")]
    [TestCase("Session=1; session=2", "session", "2")]
    public void TryGetCookie_FindsTheNamedCookie(string header, string name, string expected)
    {
        bool found = KeyExtractor.TryGetCookie(Encoding.ASCII.GetBytes(header), Encoding.ASCII.GetBytes(name), out var value);
        string text = Encoding.ASCII.GetString(value);
        Assert.Multiple(() =>
        {
            Assert.That(found, Is.True);
            Assert.That(text, Is.EqualTo(expected));
        });
    }

    [TestCase("")]
    [TestCase("other=1")]
    [TestCase("session")]
    [TestCase("sessionx=1")]
    public void TryGetCookie_ReportsAMissingCookie(string header) =>
        Assert.That(KeyExtractor.TryGetCookie(Encoding.ASCII.GetBytes(header), "session"u8, out _), Is.False);

    [Test]
    public void WriteClientIp_MapsDualStackIPv4ToItsFourBytes()
    {
        byte[] a = new byte[16];
        byte[] b = new byte[16];
        int plain = KeyExtractor.WriteClientIp(IPAddress.Parse("192.0.2.7"), a);
        int mapped = KeyExtractor.WriteClientIp(IPAddress.Parse("::ffff:192.0.2.7"), b);
        int v6 = KeyExtractor.WriteClientIp(IPAddress.Parse("2001:db8::1"), b);
        Assert.Multiple(() =>
        {
            Assert.That(plain, Is.EqualTo(4));
            Assert.That(mapped, Is.EqualTo(4));
            Assert.That(v6, Is.EqualTo(16));
            Assert.That(a[..4], Is.EqualTo(new byte[] { 192, 0, 2, 7 }));
        });
    }

    [TestCase("path", KeySourceKind.Path, null)]
    [TestCase("path-query", KeySourceKind.PathQuery, null)]
    [TestCase("client-ip", KeySourceKind.ClientIp, null)]
    [TestCase("header:X-User-Id", KeySourceKind.Header, "X-User-Id")]
    [TestCase("cookie:session", KeySourceKind.Cookie, "session")]
    public void KeySource_ParsesEveryForm(string text, KeySourceKind kind, string? name)
    {
        Assert.That(KeySource.TryParse(text, out var source, out _), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(source!.Kind, Is.EqualTo(kind));
            Assert.That(source.Name, Is.EqualTo(name));
            Assert.That(source.ToString(), Is.EqualTo(text));
        });
    }

    [TestCase("header:")]
    [TestCase("header:bad name")]
    [TestCase("cookie:")]
    [TestCase("query")]
    [TestCase("Path")]
    public void KeySource_RejectsBadForms(string text) =>
        Assert.That(KeySource.TryParse(text, out _, out string? error) ? null : error, Is.Not.Null.And.Not.Empty);
}
