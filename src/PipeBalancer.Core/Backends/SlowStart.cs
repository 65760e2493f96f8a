namespace PipeBalancer.Backends;

/// <summary>
/// Slow start: when a backend recovers (Unhealthy to Healthy), it takes its share of the ring
/// back in <see cref="Steps"/> equal steps over the configured time instead of all at once, so
/// a cold cache is not flooded. While it is down its share is already cut to the first step.
/// Each step publishes a new routing table; keys move only to the recovering backend.
/// </summary>
public sealed class SlowStart(BackendSet backends, TimeSpan duration, TimeProvider time) : IHealthObserver
{
    /// <summary>Steps of a ramp.</summary>
    public const int Steps = 10;

    /// <inheritdoc />
    public void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after)
    {
        int index = IndexOf(backend);
        if (after == HealthStatus.Unhealthy)
        {
            backends.SetShare(index, 1.0 / Steps);
        }
        else if (after == HealthStatus.Healthy && before == HealthStatus.Unhealthy)
        {
            _ = RampAsync(index);
        }
    }

    private async Task RampAsync(int index)
    {
        var step = duration / Steps;
        for (int i = 1; i <= Steps; i++)
        {
            if (backends[index].Health != HealthStatus.Healthy)
            {
                // Down again: the share was cut when it fell; a new ramp starts when it recovers.
                return;
            }

            backends.SetShare(index, (double)i / Steps);
            if (i < Steps)
            {
                await Task.Delay(step, time).ConfigureAwait(false);
            }
        }
    }

    private int IndexOf(Backend backend)
    {
        for (int i = 0; i < backends.Backends.Count; i++)
        {
            if (ReferenceEquals(backends[i], backend))
            {
                return i;
            }
        }

        throw new ArgumentException("not a backend of this set", nameof(backend));
    }
}
