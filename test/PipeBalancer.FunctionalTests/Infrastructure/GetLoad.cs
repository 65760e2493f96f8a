using System.Collections.Concurrent;
using System.Globalization;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// Bounded GET load on one or several balancers: loops per URL (two unless told), each one request at a time with a
/// short pause, over varied paths (so that keys land on every backend). Every failure (an
/// exception or a status other than 200) is kept with what it was.
/// </summary>
public sealed class GetLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<HttpClient> _clients = [];
    private long _succeeded;

    private GetLoad(IEnumerable<Uri> targets, int loopsPerTarget)
    {
        foreach (var target in targets)
        {
            for (int loop = 0; loop < loopsPerTarget; loop++)
            {
                var client = new HttpClient { BaseAddress = target, Timeout = TimeSpan.FromSeconds(10) };
                _clients.Add(client);
                int seed = _loops.Count;
                _loops.Add(Task.Run(() => RunAsync(client, seed)));
            }
        }
    }

    /// <summary>Requests answered 200.</summary>
    public long Succeeded => Interlocked.Read(ref _succeeded);

    /// <summary>What failed, each with its path.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Requests answered, whatever their status.</summary>
    public long Requests => Succeeded + Failures.Count;

    public static GetLoad Start(IEnumerable<Uri> targets) => new(targets, 2);

    public static GetLoad Start(Uri target, int clients) => new([target], clients);

    /// <summary>Stops the loops and waits for the requests in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }

    private async Task RunAsync(HttpClient client, int seed)
    {
        int n = seed * 100_000;
        while (!_stop.IsCancellationRequested)
        {
            string path = string.Create(CultureInfo.InvariantCulture, $"/load/{n++}");
            try
            {
                using var response = await client.GetAsync(new Uri(path, UriKind.Relative), CancellationToken.None);
                if (response.StatusCode == System.Net.HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _succeeded);
                }
                else
                {
                    Failures.Enqueue($"{client.BaseAddress}{path}: {(int)response.StatusCode}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Failures.Enqueue($"{client.BaseAddress}{path}: {e.Message}");
            }

            try
            {
                await Task.Delay(5, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
