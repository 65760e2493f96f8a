using PipeBalancer.Fuzz;
using SharpFuzz;

// pipebalancer-fuzz TARGET            run under afl-fuzz (./build.sh fuzz TARGET SECONDS)
// pipebalancer-fuzz TARGET FILE...    check the invariants on each file, e.g. a crash afl found
// pipebalancer-fuzz seeds DIR         write the seed inputs to DIR/TARGET/
if (args.Length == 0 || (args[0] != "seeds" && Targets.Find(args[0]) is null))
{
    Console.Error.WriteLine($"usage: pipebalancer-fuzz {{{string.Join('|', Targets.Names)}}} [FILE...] | seeds DIR");
    return 64;
}

if (args[0] == "seeds")
{
    if (args.Length != 2)
    {
        Console.Error.WriteLine("usage: pipebalancer-fuzz seeds DIR");
        return 64;
    }

    SeedWriter.Write(args[1]);
    return 0;
}

var check = Targets.Find(args[0])!;
if (args.Length == 1)
{
    Fuzzer.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        check(memory.GetBuffer().AsSpan(0, (int)memory.Length));
    });
    return 0;
}

int failed = 0;
foreach (string file in args[1..])
{
    try
    {
        check(File.ReadAllBytes(file));
        Console.WriteLine($"ok    {file}");
    }
    catch (Exception e) when (e is not OutOfMemoryException)
    {
        failed++;
        Console.WriteLine($"FAIL  {file}\n{e}");
    }
}

return failed == 0 ? 0 : 1;
