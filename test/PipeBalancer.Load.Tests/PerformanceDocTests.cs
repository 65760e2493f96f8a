using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class PerformanceDocTests
{
    [Test]
    public void FirstTable_AddsTheSectionAtTheEnd_KeepingEverything()
    {
        const string doc = "# Performance\n\n## Earlier\n\nold table\n";

        var result = PerformanceDoc.Append(doc, "### Run 1\n\n| a |\n");

        Assert.That(result, Does.StartWith(doc));
        Assert.That(result, Does.EndWith($"{PerformanceDoc.Section}\n\nTables written by `./build.sh load --write-docs`, oldest first.\n\n### Run 1\n\n| a |\n"));
    }

    [Test]
    public void LaterTable_GoesAfterTheSectionsTables_BeforeTheNextSection()
    {
        var doc = $"# P\n\n{PerformanceDoc.Section}\n\nintro\n\n### Run 1\n\n| a |\n\n## Native AOT\n\ntext\n";

        var result = PerformanceDoc.Append(doc, "### Run 2\n\n| b |\n");

        Assert.That(result, Is.EqualTo($"# P\n\n{PerformanceDoc.Section}\n\nintro\n\n### Run 1\n\n| a |\n\n### Run 2\n\n| b |\n\n## Native AOT\n\ntext\n"));
    }
}
