using PipeBalancer.Configuration;
using PipeBalancer.Discovery;

namespace PipeBalancer.Tests.Discovery;

public sealed class BackendIdentityTests
{
    [Test]
    public void Id_ComesFromHostAndPort_CaseAndFinalDotBlind()
    {
        Assert.Multiple(() =>
        {
            Assert.That(BackendIdentity.Of("Web-0.Web.Default.svc.cluster.local.", 8080), Is.EqualTo("web-0.web.default.svc.cluster.local-8080"));
            Assert.That(BackendIdentity.Of("10.0.0.5", 80), Is.EqualTo("10.0.0.5-80"));
            Assert.That(BackendIdentity.Of("fd00::5", 80), Is.EqualTo("fd00__5-80"));
            Assert.That(BackendIdentity.Of("a", 80), Is.Not.EqualTo(BackendIdentity.Of("a", 81)));
        });
    }

    [Test]
    public void Id_OfALongName_IsAValidBackendId_StableAndDistinct()
    {
        string host = string.Join('.', Enumerable.Repeat("label-of-twenty-chars", 5));
        string a = BackendIdentity.Of(host, 8080);
        string b = BackendIdentity.Of(host, 8081);
        var issues = new ConfigIssues();
        Assert.Multiple(() =>
        {
            Assert.That(EntryRules.CheckName(a, "id", issues), Is.True);
            Assert.That(EntryRules.CheckName(BackendIdentity.Of("fd00::5", 80), "id", issues), Is.True);
            Assert.That(a, Has.Length.EqualTo(64));
            Assert.That(a, Is.EqualTo(BackendIdentity.Of(host.ToUpperInvariant(), 8080)));
            Assert.That(a, Is.Not.EqualTo(b));
        });
    }
}
