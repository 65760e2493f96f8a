namespace PipeBalancer.Hosting;

/// <summary>
/// Watches the config file and calls back when its content changes. Editors save by writing in
/// place or by renaming a new file over the old one, and Kubernetes swaps a symlink: so the
/// whole directory is watched, events are gathered for a short while, and only a change of the
/// file's bytes counts.
/// </summary>
internal sealed class ConfigWatcher : IDisposable
{
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);
    private readonly FileSystemWatcher _watcher;
    private readonly string _path;
    private readonly Func<Task> _changed;
    private readonly Timer _timer;
    private string? _lastText;

    public ConfigWatcher(string path, Func<Task> changed)
    {
        _path = Path.GetFullPath(path);
        _changed = changed;
        _lastText = Read();
        _timer = new Timer(_ => _ = CheckAsync(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        _watcher.Changed += (_, _) => Poke();
        _watcher.Created += (_, _) => Poke();
        _watcher.Renamed += (_, _) => Poke();
        _watcher.Deleted += (_, _) => Poke();
        _watcher.EnableRaisingEvents = true;
    }

    private void Poke() => _timer.Change(Settle, Timeout.InfiniteTimeSpan);

    private async Task CheckAsync()
    {
        string? text = Read();
        if (text is null || text == _lastText)
        {
            return;
        }

        _lastText = text;
        await _changed().ConfigureAwait(false);
    }

    private string? Read()
    {
        try
        {
            return File.ReadAllText(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Mid-rename: the next event reads it.
            return null;
        }
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _timer.Dispose();
    }
}
