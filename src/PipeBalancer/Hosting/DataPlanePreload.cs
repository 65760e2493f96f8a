using System.IO.Hashing;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Pipelines.Sockets.Unofficial;

namespace PipeBalancer.Hosting;

/// <summary>
/// Loads, at start, every assembly the data plane needs that the runtime would otherwise load
/// on first use: loading one opens its file, and a load that fails (EMFILE on a process out of
/// descriptors) stays failed for the life of the process. Found by listing the assemblies
/// mapped after start and again after GET, POST and chunked requests, and the files a process
/// out of descriptors failed to open (strace); the JIT build: the Native AOT executable has no
/// assemblies to load.
/// </summary>
internal static class DataPlanePreload
{
    /// <summary>Loads them and runs their types' static constructors.</summary>
    public static void Run()
    {
        // Backend connections.
        RuntimeHelpers.RunClassConstructor(typeof(SocketConnection).TypeHandle);

        // The routing hash (loaded at start today by the ring; kept explicit).
        RuntimeHelpers.RunClassConstructor(typeof(XxHash3).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(Pipe).TypeHandle);

        // Formatting an exception's stack trace (a fault logged with its stack).
        _ = new System.Diagnostics.StackTrace(new InvalidOperationException(), fNeedFileInfo: false).ToString();
    }
}
