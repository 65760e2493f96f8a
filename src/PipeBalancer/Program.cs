using PipeBalancer;

// Socket completions run inline on the epoll thread: measured on the 2-core reference machine
// this takes the proxy from 0.57x to 0.97x of HAProxy's throughput (docs/performance.md).
// The runtime reads the variable once, when the first socket is created, so it is set before
// anything else; an explicit value from the environment wins.
Startup.EnableInlineSocketCompletions();
return await Cli.RunAsync(args, Console.In, Console.Out, Console.Error).ConfigureAwait(false);
