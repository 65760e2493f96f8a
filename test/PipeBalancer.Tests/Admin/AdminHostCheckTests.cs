using System.Net;
using Microsoft.AspNetCore.Http;
using PipeBalancer.Admin;

namespace PipeBalancer.Tests.Admin;

public sealed class AdminHostCheckTests
{
    private static readonly AdminHostCheck Check = new(["lb-1.internal", "[fd00::7]"]);

    [TestCase("127.0.0.1:9090", "127.0.0.1", ExpectedResult = true)]
    [TestCase("localhost:9090", "127.0.0.1", ExpectedResult = true)]
    [TestCase("LOCALHOST:9090", "::1", ExpectedResult = true)]
    [TestCase("[::1]:9090", "::1", ExpectedResult = true)]
    [TestCase("10.1.2.3:9090", "::ffff:10.1.2.3", ExpectedResult = true)]
    [TestCase("lb-1.internal", "10.1.2.3", ExpectedResult = true)]
    [TestCase("LB-1.internal:19090", "10.1.2.3", ExpectedResult = true)]
    [TestCase("[fd00::7]:80", "10.1.2.3", ExpectedResult = true)]
    [TestCase("evil.example:9090", "127.0.0.1", ExpectedResult = false)]
    [TestCase("127.0.0.1:9091", "127.0.0.1", ExpectedResult = false)]
    [TestCase("127.0.0.1", "127.0.0.1", ExpectedResult = false)]
    [TestCase("127.0.0.2:9090", "127.0.0.1", ExpectedResult = false)]
    [TestCase("localhost:9090", "10.1.2.3", ExpectedResult = false)]
    [TestCase("lb-1.internal.evil.example:9090", "127.0.0.1", ExpectedResult = false)]
    public bool Allows_OnlyHostsThatNameTheAdminApp(string host, string local)
        => Check.Allows(new HostString(host), IPAddress.Parse(local), 9090);

    [Test]
    public void Allows_NoHost_AndHostsWithoutPortOnPort80()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Check.Allows(default, IPAddress.Loopback, 9090), Is.True, "HTTP/1.0 without Host");
            Assert.That(Check.Allows(new HostString("127.0.0.1"), IPAddress.Loopback, 80), Is.True);
            Assert.That(Check.Allows(new HostString("evil.example"), IPAddress.Loopback, 80), Is.False);
        });
    }
}
