using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PipeBalancer.Hosting;

/// <summary>
/// The balancer runs several Kestrel apps (one per listener, and the admin app) as one process:
/// signals are handled once, by <see cref="BalancerHost"/>, which stops the apps in order. Each
/// app gets this lifetime, which leaves signals alone, and the process's one logger factory.
/// </summary>
internal sealed class ProcessLifetime : IHostLifetime
{
    /// <summary>Gives <paramref name="services"/> the shared lifetime and logger factory.</summary>
    public static void Share(IServiceCollection services, ILoggerFactory loggerFactory)
    {
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, ProcessLifetime>();
        services.RemoveAll<ILoggerFactory>();
        services.AddSingleton(loggerFactory);
    }

    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
