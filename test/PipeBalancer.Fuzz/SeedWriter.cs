using PipeBalancer.Tests.Http1;

namespace PipeBalancer.Fuzz;

/// <summary>
/// Writes the seed inputs: the malformed-request corpus (its heads for the request target,
/// the bodies after a chunked head for the chunked target) and the valid messages.
/// </summary>
internal static class SeedWriter
{
    public static void Write(string directory)
    {
        var request = new List<(string, byte[])>();
        var chunked = new List<(string, byte[])>();
        foreach (var bad in MalformedRequests.All())
        {
            request.Add(("malformed-" + Slug(bad.Name), bad.Bytes));
            int body = bad.Bytes.AsSpan().IndexOf("\r\n\r\n"u8);
            if (bad.Bytes.AsSpan().IndexOf("chunked"u8) >= 0 && body >= 0 && body + 4 < bad.Bytes.Length)
            {
                chunked.Add(("malformed-" + Slug(bad.Name), bad.Bytes[(body + 4)..]));
            }
        }

        request.AddRange(ValidMessages.RequestHeads.Select((bytes, i) => ($"valid-{i:00}", bytes)));
        chunked.AddRange(ValidMessages.ChunkedBodies.Select((bytes, i) => ($"valid-{i:00}", bytes)));
        var response = ValidMessages.ResponseHeads.Select((bytes, i) => ($"valid-{i:00}", bytes)).ToList();
        Save(Path.Combine(directory, "request"), request);
        Save(Path.Combine(directory, "response"), response);
        Save(Path.Combine(directory, "chunked"), chunked);
    }

    private static void Save(string directory, List<(string Name, byte[] Bytes)> seeds)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, bytes) in seeds)
        {
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }

        Console.WriteLine($"{seeds.Count} seeds in {directory}");
    }

    private static string Slug(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-'));
}
