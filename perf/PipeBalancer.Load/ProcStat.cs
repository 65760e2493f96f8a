using System.Globalization;

namespace PipeBalancer.Load;

/// <summary>CPU time and resident memory of a process and its descendants, from /proc.</summary>
internal static class ProcStat
{
    /// <summary>The process and every descendant (nginx's and HAProxy's workers), from /proc/PID/task/*/children.</summary>
    public static IReadOnlyList<int> Family(int pid)
    {
        var all = new List<int>();
        var queue = new Queue<int>();
        queue.Enqueue(pid);
        while (queue.Count > 0 && all.Count < 10_000)
        {
            var p = queue.Dequeue();
            all.Add(p);
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{p}/task"))
                {
                    var children = File.ReadAllText(Path.Combine(task, "children"));
                    foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        queue.Enqueue(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while being read: it has no children left to count.
            }
        }

        return all;
    }

    /// <summary>utime + stime of the processes, in clock ticks; a process that ended counts 0.</summary>
    public static long CpuTicks(IEnumerable<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            string line;
            try
            {
                line = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (TryParseCpuTicks(line, out var ticks))
            {
                total += ticks;
            }
        }

        return total;
    }

    /// <summary>
    /// utime + stime (fields 14 and 15) of a /proc/PID/stat line. The command name (field 2)
    /// is in parentheses and may hold spaces and parentheses, so fields are counted from the
    /// last ')'.
    /// </summary>
    public static bool TryParseCpuTicks(string statLine, out long ticks)
    {
        ticks = 0;
        var close = statLine.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        // After ") " come field 3 (state), 4, ...: utime is field 14, the 12th from there.
        var fields = statLine[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13 ||
            !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var utime) ||
            !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var stime))
        {
            return false;
        }

        ticks = utime + stime;
        return true;
    }

    /// <summary>Sum of VmRSS (/proc/PID/status) of the processes, in KB.</summary>
    public static long RssKb(IEnumerable<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        var words = line.Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries);
                        total += long.Parse(words[1], CultureInfo.InvariantCulture);
                        break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Ended: holds no memory.
            }
        }

        return total;
    }

    /// <summary>The kernel's clock ticks per second (getconf CLK_TCK; 100 on Linux).</summary>
    public static int ClockTicksPerSecond { get; } = ReadClockTicks();

    private static int ReadClockTicks()
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var text = p!.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var hz) && hz > 0 ? hz : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}
