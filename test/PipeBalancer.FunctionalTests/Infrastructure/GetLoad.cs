using System.Collections.Concurrent;
using System.Globalization;

namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>
/// GET load from real clients until disposed: each client loops over keep-alive requests for
/// varying keys, and every answer that is not 200 (or an exception) is kept in <see cref="Failures"/>.
/// </summary>
public sealed class GetLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _clients;
    private long _requests;

    private GetLoad(Uri url, int clients)
    {
        _clients = [.. Enumerable.Range(0, clients).Select(c => Task.Run(() => RunAsync(url, c)))];
    }

    /// <summary>What failed: a status or an exception's message per failed request.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Requests answered so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    public static GetLoad Start(Uri url, int clients) => new(url, clients);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        _stop.Dispose();
    }

    private async Task RunAsync(Uri url, int client)
    {
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        for (int i = 0; !_stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"/load/{client}/{i % 1000}"), _stop.Token);
                await response.Content.ReadAsByteArrayAsync(_stop.Token);
                if ((int)response.StatusCode != 200)
                {
                    Failures.Enqueue(string.Create(CultureInfo.InvariantCulture, $"status {(int)response.StatusCode}"));
                }

                Interlocked.Increment(ref _requests);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                Failures.Enqueue(e.Message);
            }
        }
    }
}
