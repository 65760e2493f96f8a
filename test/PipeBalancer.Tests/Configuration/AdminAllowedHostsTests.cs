using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary><c>admin.allowedHosts</c>: the host names the admin app answers to besides its own address.</summary>
public sealed class AdminAllowedHostsTests
{
    private const string Listeners = """ "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ] """;
    private const string Backends = """ "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] """;

    [Test]
    public void AllowedHosts_AreRead_AndDefaultToNone()
    {
        var listed = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "admin": { "allowedHosts": [ "lb-1.internal", "10.0.0.7", "[fd00::7]", "fd00::8", "pipe_balancer_admin" ] } }""");
        var none = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "admin": { "address": "127.0.0.1:9090" } }""");
        Assert.Multiple(() =>
        {
            Assert.That(listed.Errors, Is.Empty);
            Assert.That(listed.Config!.Admin.AllowedHosts, Is.EqualTo(new[] { "lb-1.internal", "10.0.0.7", "[fd00::7]", "fd00::8", "pipe_balancer_admin" }));
            Assert.That(none.Config!.Admin.AllowedHosts, Is.Empty);
        });
    }

    [TestCase("""{ "allowedHosts": "lb-1.internal" }""", "admin.allowedHosts", "must be an array of host names, got string")]
    [TestCase("""{ "allowedHosts": [ "lb-1.internal:9090" ] }""", "admin.allowedHosts[0]", "without scheme or port, like \"lb-1.internal\", got \"lb-1.internal:9090\"")]
    [TestCase("""{ "allowedHosts": [ "ok.example", "http://lb-1.internal" ] }""", "admin.allowedHosts[1]", "must be a host name or IP address")]
    [TestCase("""{ "allowedHosts": [ "[fd00::7]:9090" ] }""", "admin.allowedHosts[0]", "without scheme or port")]
    [TestCase("""{ "allowedHosts": [ "-lb.internal" ] }""", "admin.allowedHosts[0]", "must be a host name or IP address")]
    [TestCase("""{ "allowedHosts": [ "lb..internal" ] }""", "admin.allowedHosts[0]", "must be a host name or IP address")]
    [TestCase("""{ "allowedHosts": [ "*" ] }""", "admin.allowedHosts[0]", "must be a host name or IP address")]
    [TestCase("""{ "allowedHosts": [ "" ] }""", "admin.allowedHosts[0]", "must be a host name or IP address")]
    [TestCase("""{ "allowedHosts": [ 3 ] }""", "admin.allowedHosts[0]", "must be a string, got number")]
    public void AllowedHosts_Invalid_NamesThePathAndTheReason(string admin, string path, string reason)
    {
        var result = ConfigLoader.Parse($$"""{ {{Listeners}}, {{Backends}}, "admin": {{admin}} }""");
        Assert.That(result.Config, Is.Null);
        Assert.That(result.Errors.Select(e => e.Path), Does.Contain(path));
        Assert.That(result.Errors.First(e => e.Path == path).Reason, Does.Contain(reason));
    }
}
