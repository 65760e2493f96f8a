namespace PipeBalancer.Load;

/// <summary>The programs a run needs, found on PATH (and in /usr/sbin, where Debian puts nginx and haproxy).</summary>
internal sealed record RequiredTools(string Wrk, string Haproxy, string Nginx)
{
    private static readonly (string Program, string Package)[] Needed = [("wrk", "wrk"), ("haproxy", "haproxy"), ("nginx", "nginx-light")];

    /// <summary>The directories searched: PATH's, then the sbin directories a user's PATH may lack.</summary>
    public static IReadOnlyList<string> SearchPath(string? path) =>
        [.. (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/local/sbin", "/usr/sbin", "/sbin"];

    /// <summary>Finds them all in <paramref name="dirs"/>, or says which are missing and how to install them.</summary>
    public static bool TryFind(IReadOnlyList<string> dirs, out RequiredTools? tools, out string error)
    {
        var found = new Dictionary<string, string>();
        var missing = new List<(string Program, string Package)>();
        foreach (var (program, package) in Needed)
        {
            var file = dirs.Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
            if (file is null)
            {
                missing.Add((program, package));
            }
            else
            {
                found[program] = file;
            }
        }

        if (missing.Count > 0)
        {
            tools = null;
            error = $"{string.Join(" and ", missing.Select(m => m.Program))} {(missing.Count == 1 ? "is" : "are")} not installed: " +
                $"apt-get install {string.Join(" ", missing.Select(m => m.Package))}";
            return false;
        }

        tools = new RequiredTools(found["wrk"], found["haproxy"], found["nginx"]);
        error = "";
        return true;
    }
}
