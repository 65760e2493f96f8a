using System.Globalization;

namespace PipeBalancer.Hosting;

/// <summary>The process's file descriptor limit and use, from /proc (Linux; 0 elsewhere).</summary>
internal static class DescriptorLimit
{
    /// <summary>The soft limit on open files (the runtime raised it to the hard one at start), or 0 when unknown or unlimited.</summary>
    public static long Read()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long soft) ? soft : 0;
                }
            }
        }
        catch (IOException)
        {
            // No /proc: no budget.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>Descriptors open now, or 0 when unknown.</summary>
    public static long InUse()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
