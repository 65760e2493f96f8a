using PipeBalancer;

return await Cli.RunAsync(args, Console.In, Console.Out, Console.Error).ConfigureAwait(false);
