using System.Diagnostics;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>Runs the executable to its end and returns its exit code and output.</summary>
internal static class ExecutableRun
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string executable, params string[] args)
    {
        var start = new ProcessStartInfo(executable, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
