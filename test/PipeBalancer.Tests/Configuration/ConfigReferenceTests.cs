using System.Text.RegularExpressions;
using PipeBalancer.Configuration;

namespace PipeBalancer.Tests.Configuration;

/// <summary>docs/configuration.md against the settings the records declare: every property, its type and its default.</summary>
public sealed partial class ConfigReferenceTests
{
    [Test]
    public void Reference_HasEverySetting_WithTheTypeAndDefaultTheModelDeclares()
    {
        var tables = ReadTables(File.ReadAllText(ConfigLoaderTests.RepoFile("docs/configuration.md")));
        var problems = new List<string>();
        foreach (var section in DocumentedSection.All())
        {
            if (!tables.TryGetValue(section.Heading, out var rows))
            {
                problems.Add($"no table under a heading `{section.Heading}`");
                continue;
            }

            foreach (var setting in section.Rows)
            {
                if (!rows.TryGetValue(setting.Name, out var row))
                {
                    problems.Add($"{section.Heading}.{setting.Name}: not in the table");
                    continue;
                }

                if (row.Type != setting.Type)
                {
                    problems.Add($"{section.Heading}.{setting.Name}: type is '{row.Type}', the model says '{setting.Type}'");
                }

                if (row.Default != setting.Default)
                {
                    problems.Add($"{section.Heading}.{setting.Name}: default is '{row.Default}', the model says '{setting.Default}'");
                }
            }

            foreach (string extra in rows.Keys.Except(section.Rows.Select(r => r.Name)))
            {
                problems.Add($"{section.Heading}.{extra}: documented but not a setting");
            }
        }

        Assert.That(problems, Is.Empty, string.Join(Environment.NewLine, problems));
    }

    [Test]
    public void Reference_CoversEveryRootSection()
    {
        var headings = DocumentedSection.All().Select(s => s.Heading).ToList();
        Assert.That(headings, Is.SupersetOf(new[]
        {
            "listeners", "listeners[].tls", "admin", "routing", "backends", "limits", "timeouts", "forwardedHeaders", "pool", "health", "circuit", "retries",
        }));
    }

    [Test]
    public void ReadTables_SeesATypeOrDefaultThatDrifted()
    {
        // The check itself must be able to fail: a table whose default differs from the model's.
        const string Doc = """
            ## `pool` (optional)

            | property | type | default | meaning |
            |---|---|---|---|
            | `maxIdlePerBackend` | integer 0..100000 | `64` | idle connections |
            """;
        var rows = ReadTables(Doc)["pool"];
        var model = DocumentedSection.All().Single(s => s.Heading == "pool").Rows.Single();
        Assert.Multiple(() =>
        {
            Assert.That(rows["maxIdlePerBackend"].Type, Is.EqualTo(model.Type));
            Assert.That(rows["maxIdlePerBackend"].Default, Is.Not.EqualTo(model.Default));
        });
    }

    // Each "## `name`" or "### `a[].b`" heading and the first table after it: property -> (type, default).
    // A default cell is "required", "none", or its first `code` span with quotes removed.
    private static Dictionary<string, Dictionary<string, (string Type, string Default)>> ReadTables(string markdown)
    {
        var tables = new Dictionary<string, Dictionary<string, (string, string)>>(StringComparer.Ordinal);
        Dictionary<string, (string, string)>? current = null;
        bool inTable = false;
        foreach (string line in markdown.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var heading = Heading().Match(line);
            if (heading.Success)
            {
                current = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
                tables[heading.Groups[1].Value] = current;
                inTable = false;
                continue;
            }

            if (current is null)
            {
                continue;
            }

            if (!line.StartsWith('|'))
            {
                if (inTable)
                {
                    current = null;
                }

                continue;
            }

            inTable = true;
            var cells = CellSeparator().Split(line.Trim().Trim('|')).Select(c => c.Trim()).ToArray();
            if (cells.Length < 3 || !cells[0].StartsWith('`'))
            {
                continue;
            }

            string defaultCell = cells[2];
            var code = CodeSpan().Match(defaultCell);
            string value = defaultCell is "required" or "none" || !code.Success ? defaultCell : code.Groups[1].Value.Trim('"');
            current[cells[0].Trim('`')] = (cells[1], value);
        }

        return tables;
    }

    [GeneratedRegex(@"^#{2,3} `([^`]+)`")]
    private static partial Regex Heading();

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex CellSeparator();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpan();
}
