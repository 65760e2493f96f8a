using System.Globalization;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// What `pipebalancer route` says about keys for a set of backends: the command is run in this
/// process over an lb.json written for the test, exactly as a user would run it.
/// </summary>
public static class RoutePrediction
{
    public static async Task<Dictionary<string, string>> PredictAsync(IEnumerable<(string Id, int Port, int Weight)> backends, IReadOnlyList<string> paths)
    {
        string dir = Path.Combine(Path.GetTempPath(), "pb-route-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string entries = string.Join(",\n", backends.Select(b =>
                string.Create(CultureInfo.InvariantCulture, $$"""    { "id": "{{b.Id}}", "address": "127.0.0.1:{{b.Port}}", "weight": {{b.Weight}} }""")));
            string lbJson = $$"""
                {
                  "listeners": [ { "name": "web", "address": "127.0.0.1:0" } ],
                  "admin": { "address": "127.0.0.1:0" },
                  "backends": [
                {{entries}}
                  ]
                }
                """;
            string config = Path.Combine(dir, "lb.json");
            await File.WriteAllTextAsync(config, lbJson);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = await Cli.RunAsync(["route", "--config", config], new StringReader(string.Join('\n', paths)), stdout, stderr);
            Assert.That(exit, Is.Zero, stderr.ToString());
            return stdout.ToString()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static Task<Dictionary<string, string>> PredictAsync(IEnumerable<TestBackend> backends, IReadOnlyList<string> paths) =>
        PredictAsync(backends.Select(b => (b.Id, b.Port, 1)), paths);

    /// <summary>Sends one GET per path over a keep-alive client and says which backend answered each.</summary>
    public static async Task<Dictionary<string, string>> ObserveAsync(HttpClient client, IReadOnlyList<string> paths)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            using var response = await client.GetAsync(path);
            Assert.That((int)response.StatusCode, Is.EqualTo(200), path);
            seen[path] = response.Headers.GetValues("X-Backend").Single();
        }

        return seen;
    }

    public static string[] Paths(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"/{prefix}/{i}")).ToArray();
}
