namespace PipeBalancer.Backends;

/// <summary>
/// Slow start: when a backend recovers (Unhealthy to Healthy), it takes its share of the ring
/// back in <see cref="Steps"/> equal steps over the configured time instead of all at once, so
/// a cold cache is not flooded. While it is down its share is already cut to the first step.
/// Each step publishes a new routing table; keys move only to the recovering backend. The
/// steps go to whichever backend set is in force when they are taken.
/// </summary>
internal sealed class SlowStart(Func<BackendSet> backends, TimeSpan duration, TimeProvider time) : IHealthObserver
{
    /// <summary>Slow start over a set that never changes.</summary>
    public SlowStart(BackendSet backends, TimeSpan duration, TimeProvider time)
        : this(() => backends, duration, time)
    {
    }

    /// <summary>Steps of a ramp.</summary>
    public const int Steps = 10;

    /// <inheritdoc />
    public void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after)
    {
        if (after == HealthStatus.Unhealthy)
        {
            SetShare(backend, 1.0 / Steps);
        }
        else if (after == HealthStatus.Healthy && before == HealthStatus.Unhealthy)
        {
            _ = RampAsync(backend);
        }
    }

    private async Task RampAsync(Backend backend)
    {
        var step = duration / Steps;
        for (int i = 1; i <= Steps; i++)
        {
            if (backend.Health != HealthStatus.Healthy || backend.Removed)
            {
                // Down again: the share was cut when it fell; a new ramp starts when it recovers.
                return;
            }

            SetShare(backend, (double)i / Steps);
            if (i < Steps)
            {
                await Task.Delay(step, time).ConfigureAwait(false);
            }
        }
    }

    private void SetShare(Backend backend, double share)
    {
        var set = backends();
        int index = set.IndexOf(backend);
        if (index >= 0)
        {
            set.SetShare(index, share);
        }
        else
        {
            // Not in the set in force (removed, or a new set is being built): the next set
            // builds its table from the backend's own share.
            backend.Share = share;
        }
    }
}
