using System.Text;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.Hosting;

/// <summary>
/// The files of <c>--log-file</c> and <c>--access-log-file</c>, reopened together on SIGUSR1.
/// Log lines reach the file through the console logger: standard output is redirected to it
/// before the logger is created, while the start-up summary keeps the real standard output.
/// </summary>
internal sealed class LogFiles : IDisposable
{
    private readonly TextWriter? _previousOut;

    private LogFiles(ReopenableFile? log, ReopenableFile? access)
    {
        Log = log;
        Access = access;
        if (log is not null)
        {
            _previousOut = Console.Out;
            Console.SetOut(new StreamWriter(log, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true });
        }
    }

    /// <summary>The file of <c>--log-file</c>, if given.</summary>
    public ReopenableFile? Log { get; }

    /// <summary>The file of <c>--access-log-file</c>, if given.</summary>
    public ReopenableFile? Access { get; }

    /// <summary>Opens the files the command line names; null with the reason when one cannot be opened.</summary>
    public static LogFiles? TryOpen(CommandLine line, out string? error)
    {
        error = null;
        ReopenableFile? log = null;
        if (line.LogFile is { } logPath && (log = ReopenableFile.TryOpen(logPath, out error)) is null)
        {
            error = "--log-file: " + error;
            return null;
        }

        ReopenableFile? access = null;
        if (line.AccessLogFile is { } accessPath && (access = ReopenableFile.TryOpen(accessPath, out error)) is null)
        {
            log?.Dispose();
            error = "--access-log-file: " + error;
            return null;
        }

        return new LogFiles(log, access);
    }

    /// <summary>SIGUSR1: reopens each file at its path, and logs what happened (in the new log file).</summary>
    public void Reopen(ILogger logger, string signal)
    {
        if (Log is null && Access is null)
        {
            HostLog.SignalIgnored(logger, signal, "no --log-file or --access-log-file to reopen");
            return;
        }

        foreach (var file in new[] { Log, Access })
        {
            if (file is null)
            {
                continue;
            }

            if (file.TryReopen(out string? error))
            {
                HostLog.LogReopened(logger, signal, file.Path);
            }
            else
            {
                HostLog.LogReopenFailed(logger, signal, error!);
            }
        }
    }

    /// <summary>Closes the files; call once the logger and the access log have written their last lines.</summary>
    public void Dispose()
    {
        if (_previousOut is not null)
        {
            Console.SetOut(_previousOut);
        }

        Log?.Dispose();
        Access?.Dispose();
    }
}
