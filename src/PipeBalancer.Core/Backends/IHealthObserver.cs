namespace PipeBalancer.Backends;

/// <summary>Receives backend health changes (routing eligibility, logs, stats).</summary>
internal interface IHealthObserver
{
    /// <summary>Called once per change, from the checking loop of <paramref name="backend"/>.</summary>
    void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after);

    /// <summary>
    /// Called when a check finds something else than the check before (a failure after a pass,
    /// a timeout after a refused connect, 500 after 503), not for every check; not called for a
    /// first check that passes. <paramref name="before"/> is null for the first check.
    /// </summary>
    void OnCheckOutcomeChanged(Backend backend, HealthCheckResult? before, HealthCheckResult after)
    {
    }

    /// <summary>
    /// Called when a check failed for a reason of the balancer's own (an exception no probe
    /// expects): the check is not counted for or against the backend, and the loop goes on.
    /// Called once until a check completes again.
    /// </summary>
    void OnCheckFault(Backend backend, Exception fault)
    {
    }

    /// <summary>
    /// Called when a check could not be made for want of a local resource (out of file
    /// descriptors or local ports, EMFILE/ENFILE): not counted for or against the backend.
    /// Called once until a check completes again.
    /// </summary>
    void OnCheckNotMade(Backend backend, Exception cause)
    {
    }
}
