using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class RequiredToolsTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pb-load-tools-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void MissingTools_AreNamed_WithTheAptGetLine()
    {
        File.WriteAllText(Path.Combine(_dir, "wrk"), "");

        Assert.That(RequiredTools.TryFind([_dir], out var tools, out var error), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(tools, Is.Null);
            Assert.That(error, Is.EqualTo("haproxy and nginx are not installed: apt-get install haproxy nginx-light"));
        });
    }

    [Test]
    public void OneMissingTool_IsNamedAlone()
    {
        File.WriteAllText(Path.Combine(_dir, "haproxy"), "");
        File.WriteAllText(Path.Combine(_dir, "nginx"), "");

        Assert.That(RequiredTools.TryFind([_dir], out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("wrk is not installed: apt-get install wrk"));
    }

    [Test]
    public void AllPresent_AreFoundWithTheirPaths()
    {
        foreach (var name in new[] { "wrk", "haproxy", "nginx" })
        {
            File.WriteAllText(Path.Combine(_dir, name), "");
        }

        Assert.That(RequiredTools.TryFind(["/nonexistent", _dir], out var tools, out _), Is.True);
        Assert.That(tools!.Nginx, Is.EqualTo(Path.Combine(_dir, "nginx")));
    }

    [Test]
    public void SearchPath_AddsTheSbinDirectories() =>
        Assert.That(RequiredTools.SearchPath("/usr/bin:/bin"), Is.EqualTo(new[] { "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin" }));
}
