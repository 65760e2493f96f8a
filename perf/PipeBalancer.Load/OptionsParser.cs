using System.Globalization;

namespace PipeBalancer.Load;

/// <summary>Reads the command line; a bad one gets one precise message (and exit code 64).</summary>
internal static class OptionsParser
{
    public static string Usage => $"""
        Usage: ./build.sh load [WORKLOAD...] [options]
               (or: dotnet perf/PipeBalancer.Load/bin/Release/net10.0/pipebalancer-load.dll ...)

        Measures PipeBalancer against HAProxy 2.6 on the same three nginx backends, all on
        127.0.0.1, workload by workload: pairs of runs back to back (the order flipped every
        pair), each after a warm-up; then prints one markdown table of medians and PB/HAProxy
        ratios and saves it to perf/load/results/<UTC time>.md.

        Workloads (default: all, in this order):
        {string.Join(Environment.NewLine, Workloads.All.Select(w => $"  {w.Name,-15} {w.Title}"))}

        Options:
          --pairs N         pairs of runs per workload (default 5)
          --warmup S        seconds of load before every measured run (default 4)
          --duration S      measured seconds per run (default 6)
          --idle-seconds S  seconds the idle clients are held while CPU is read (default 10)
          --paths N         distinct request paths cycled by wrk (default 10000)
          --aot             measure the Native AOT executable (artifacts/publish/linux-x64/
                            pipebalancer, published with ./build.sh publish unless --skip-build)
                            instead of the JIT build
          --skip-build      use the existing Release build (or AOT executable) as it is
          --rate-limit      one rate limiter on the balancer's HTTP listeners (by client address,
                            a rate no run reaches): what a limiter costs, against a run without
          --tracing         the balancer with tracing on: every request gets a span, exported
                            over OTLP/HTTP (to the first nginx backend, which answers 200)
          --write-docs [HEADING]
                            also append the table to docs/performance.md under a heading
                            (default: "Load run <UTC time>")
          -h, --help        this text

        Needs wrk, haproxy and nginx (apt-get install wrk haproxy nginx-light) and the .NET SDK.
        Every process it starts is killed when it ends, also on Ctrl-C; PB_LOAD_KEEP_TMP=1 keeps
        its temporary directory (configs and logs).

        Exit codes: 0 every run measured, 1 a target failed (build, start, a run; the table is
        still written), 64 bad options, 127 a required tool is missing, 130 interrupted.
        """;

    public static bool TryParse(IReadOnlyList<string> args, out LoadOptions options, out string error)
    {
        options = new LoadOptions();
        error = "";
        var workloads = new List<Workload>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string name = arg, value = "";
            var inline = arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains('=', StringComparison.Ordinal);
            if (inline)
            {
                name = arg[..arg.IndexOf('=', StringComparison.Ordinal)];
                value = arg[(arg.IndexOf('=', StringComparison.Ordinal) + 1)..];
            }

            switch (name)
            {
                case "-h" or "--help":
                    options = options with { Help = true };
                    break;
                case "--aot":
                    options = options with { Aot = true };
                    break;
                case "--tracing":
                    options = options with { Tracing = true };
                    break;
                case "--skip-build":
                    options = options with { SkipBuild = true };
                    break;
                case "--rate-limit":
                    options = options with { RateLimit = true };
                    break;
                case "--write-docs":
                    if (!inline && i + 1 < args.Count && !args[i + 1].StartsWith('-') && Workloads.Find(args[i + 1]) is null)
                    {
                        value = args[++i];
                    }

                    options = options with { DocsHeading = value.Length > 0 ? value : "" };
                    break;
                case "--pairs" or "--warmup" or "--duration" or "--idle-seconds" or "--paths":
                    if (!inline)
                    {
                        if (i + 1 >= args.Count)
                        {
                            error = $"{name} needs a number";
                            return false;
                        }

                        value = args[++i];
                    }

                    var min = name == "--warmup" ? 0 : 1;
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > 1_000_000)
                    {
                        error = $"{name} needs a whole number {(min == 0 ? "0" : "1")}..1000000, got '{value}'";
                        return false;
                    }

                    options = name switch
                    {
                        "--pairs" => options with { Pairs = n },
                        "--warmup" => options with { WarmupSeconds = n },
                        "--duration" => options with { DurationSeconds = n },
                        "--idle-seconds" => options with { IdleSeconds = n },
                        _ => options with { Paths = n },
                    };
                    break;
                default:
                    if (arg.StartsWith('-'))
                    {
                        error = $"unknown option '{arg}' (see --help)";
                        return false;
                    }

                    var workload = Workloads.Find(arg);
                    if (workload is null)
                    {
                        error = $"unknown workload '{arg}'; the workloads are {string.Join(", ", Workloads.All.Select(w => w.Name))}";
                        return false;
                    }

                    if (!workloads.Contains(workload))
                    {
                        workloads.Add(workload);
                    }

                    break;
            }
        }

        if (workloads.Count > 0)
        {
            options = options with { Workloads = workloads };
        }

        return true;
    }
}
