using System.Runtime.InteropServices;
using PipeBalancer.Load;

// Exit codes: 0 every run measured, 1 a target failed, 64 bad options, 127 a tool missing, 130 interrupted.
if (!OptionsParser.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"load: {error}");
    return 64;
}

if (options.Help)
{
    Console.WriteLine(OptionsParser.Usage);
    return 0;
}

if (!RequiredTools.TryFind(RequiredTools.SearchPath(Environment.GetEnvironmentVariable("PATH")), out var tools, out error))
{
    Console.Error.WriteLine($"load: {error}");
    return 127;
}

var root = FindRoot(Directory.GetCurrentDirectory()) ?? FindRoot(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine("load: run it inside the PipeBalancer repository (no PipeBalancer.sln above the current directory)");
    return 64;
}

using var cancel = new CancellationTokenSource();
void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine("load: interrupted; stopping every process it started");
    cancel.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

var temp = Directory.CreateTempSubdirectory("pipebalancer-load-").FullName;

// nginx's workers run as nobody when started by root: they must reach the 256 KB file.
File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
try
{
    using var children = new ChildProcesses();
    return await new LoadRun(options, root, tools!, children, temp).RunAsync(cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
finally
{
    if (Environment.GetEnvironmentVariable("PB_LOAD_KEEP_TMP") == "1")
    {
        Console.Error.WriteLine($"load: kept {temp}");
    }
    else
    {
        Directory.Delete(temp, recursive: true);
    }
}

static string? FindRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "PipeBalancer.sln")))
        {
            return dir.FullName;
        }
    }

    return null;
}
