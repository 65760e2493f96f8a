using PipeBalancer.Configuration;

namespace PipeBalancer.Commands;

/// <summary>Loads the config for a command and reports problems the way every command does.</summary>
internal static class ConfigFile
{
    /// <summary>The config, or null after printing every error (prefixed by the file name).</summary>
    public static BalancerConfig? Load(string path, TextWriter stderr)
    {
        if (Directory.Exists(path))
        {
            // Reading a directory fails with "access denied", which sends one looking at permissions.
            stderr.WriteLine($"{path}: $: cannot read {path}: it is a directory, not a file");
            stderr.WriteLine($"{path}: 1 error(s); configuration rejected");
            return null;
        }

        var result = ConfigLoader.LoadFile(path);
        foreach (var warning in result.Warnings)
        {
            stderr.WriteLine($"{path}: warning: {warning}");
        }

        foreach (var error in result.Errors)
        {
            stderr.WriteLine($"{path}: {error}");
        }

        if (!result.IsValid)
        {
            stderr.WriteLine($"{path}: {result.Errors.Count} error(s); configuration rejected");
        }

        return result.Config;
    }

    /// <summary>
    /// Whether <paramref name="config"/> lists every backend it routes over; when DNS finds some
    /// (<c>discovery</c>), says that <paramref name="command"/> cannot see them and returns false.
    /// The backends a group finds exist only in the balancer that looked them up, and an answer
    /// without them would name the wrong servers.
    /// </summary>
    public static bool ListsEveryBackend(BalancerConfig config, string command, TextWriter stderr)
    {
        if (config.Discovery.Count == 0)
        {
            return true;
        }

        stderr.WriteLine($"pipebalancer: the configuration finds backends through DNS (discovery group '{config.Discovery[0].Group}'); {command} works only over backends listed in it");
        return false;
    }
}
