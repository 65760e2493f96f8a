using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;

namespace PipeBalancer.Discovery;

/// <summary>
/// The lookup loop of one discovery group: look up, record the result in the group's
/// <see cref="GroupState"/>, say when the set changed, wait as <see cref="RefreshSchedule"/>
/// says, and again, until disposed.
/// </summary>
internal sealed class GroupWatch : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<LookupResult>> _lookup;
    private readonly TimeProvider _time;
    private readonly RefreshSchedule _schedule;
    private readonly Action<GroupWatch> _changed;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the watch; <see cref="Start"/> runs it.</summary>
    /// <param name="config">The group.</param>
    /// <param name="state">Its state (a group changed by a reload keeps the set it had).</param>
    /// <param name="lookup">One lookup of the group.</param>
    /// <param name="time">The clock the waits use.</param>
    /// <param name="random">The jitter's source.</param>
    /// <param name="changed">Called after a lookup changed the set.</param>
    /// <param name="logger">Where state changes are logged.</param>
    public GroupWatch(DiscoveryConfig config, GroupState state, Func<CancellationToken, Task<LookupResult>> lookup, TimeProvider time, Random random,
        Action<GroupWatch> changed, ILogger logger)
    {
        Config = config;
        State = state;
        _lookup = lookup;
        _time = time;
        _schedule = new RefreshSchedule(config, random);
        _changed = changed;
        _logger = logger;
    }

    /// <summary>The group.</summary>
    public DiscoveryConfig Config { get; }

    /// <summary>The group's set and status (changed only by this watch's loop, under its lock).</summary>
    public GroupState State { get; }

    /// <summary>What the group looks up, as logs and stats name it: <c>SRV name</c> or <c>A/AAAA name port</c>.</summary>
    public string Lookup => Config.Srv is { } srv ? $"SRV {srv}" : $"A/AAAA {Config.Name} port {Config.Port}";

    /// <summary>Completes when the first lookup has ended, whatever its result.</summary>
    public Task FirstLookup => _first.Task;

    /// <summary>Reads the group's state under the lock the loop writes it under.</summary>
    public TResult Read<TResult>(Func<GroupState, TResult> read)
    {
        lock (_lock)
        {
            return read(State);
        }
    }

    /// <summary>Starts the loop.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            LookupResult result;
            try
            {
                result = await _lookup(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Not a DNS failure the lookup knows: the balancer's own fault, logged with its stack;
                // the group keeps its set like after any failed lookup.
                DiscoveryLog.Unexpected(_logger, e, Config.Group, Lookup);
                result = LookupResult.Failed(LookupFailure.Other, e.Message);
            }

            bool changed = Record(result, out bool answered);
            if (changed)
            {
                _changed(this);
            }

            _first.TrySetResult();
            var delay = answered ? _schedule.AfterAnswer(result.Ttl) : _schedule.AfterFailure();
            try
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _first.TrySetResult();
    }

    private bool Record(LookupResult result, out bool answered)
    {
        var now = _time.GetUtcNow();
        bool changed;
        bool stateChanged;
        DateTimeOffset? failingSince;
        lock (_lock)
        {
            failingSince = State.FailingSince;
            changed = State.Record(result, Config.AllowEmpty, now, out stateChanged);
            answered = State.Failure == LookupFailure.None;
        }

        if (State.Failure != LookupFailure.None)
        {
            if (stateChanged && _logger.IsEnabled(LogLevel.Warning))
            {
                DiscoveryLog.LookupFailed(_logger, Config.Group, Lookup, FailureNames.Of(State.Failure), State.FailureDetail, State.Targets.Count);
            }
        }
        else if (failingSince is { } since && stateChanged && _logger.IsEnabled(LogLevel.Information))
        {
            DiscoveryLog.Recovered(_logger, Config.Group, Lookup, (now - since).TotalSeconds);
        }

        if (changed && _logger.IsEnabled(LogLevel.Information))
        {
            string targets = string.Join(", ", State.Targets.Select(t => $"{t.Id}={t.Address}"));
            DiscoveryLog.SetChanged(_logger, Config.Group, State.Targets.Count, Lookup, targets);
        }

        return changed;
    }

    /// <summary>Stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
