using Microsoft.AspNetCore.Builder;

namespace PipeBalancer.Runtime;

/// <summary>
/// The options of every ASP.NET Core app the balancer builds (its admin app and one per
/// listener). Their configuration is lb.json, so nothing of ASP.NET Core's own file
/// configuration is wanted: by default each builder reads <c>appsettings.json</c> from the
/// working directory and watches that directory and every directory under it for changes, one
/// inotify instance per app, so a balancer started from a large tree (a home directory, /) would
/// spend its start walking it, and one with many listeners would run out of inotify instances.
/// The content root is the executable's own directory, and nothing there is watched.
/// </summary>
internal static class EmbeddedAppOptions
{
    /// <summary>Options for <see cref="WebApplication.CreateSlimBuilder(WebApplicationOptions)"/>.</summary>
    public static WebApplicationOptions Create() => new()
    {
        ContentRootPath = AppContext.BaseDirectory,
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
    };
}
