using PipeBalancer;

// Before anything creates a socket: the runtime reads these settings once (docs/performance.md).
Startup.ConfigureSocketEngine();
return await Cli.RunAsync(args, Console.In, Console.Out, Console.Error).ConfigureAwait(false);
