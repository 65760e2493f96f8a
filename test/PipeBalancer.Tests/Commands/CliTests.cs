using PipeBalancer.Tests.Configuration;

namespace PipeBalancer.Tests.Commands;

public sealed class CliTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), "pipebalancer-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Validate_GoodConfig_PrintsOkAndExitsZero()
    {
        var (code, stdout, stderr) = await Run("validate", ConfigLoaderTests.RepoFile("lb.json"));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Contain("ok (1 listener(s), 3 backend(s), routing ring on path)"));
            Assert.That(stderr, Is.Empty);
        });
    }

    [Test]
    public async Task ValidatePrint_WritesTheConfigurationInForce_WithDefaultsAndTheTokenRedacted()
    {
        string path = Write("print.json", """
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ],
              "admin": { "address": "127.0.0.1:9090", "token": "q7Xv0mC2Lr9pW4sT8bYk1nHd" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);
        var (code, stdout, stderr) = await Run("validate", path, "--print");
        using var printed = System.Text.Json.JsonDocument.Parse(stdout);
        var root = printed.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stderr, Does.Contain("ok (1 listener(s), 1 backend(s)"));
            Assert.That(root.GetProperty("listeners")[0].GetProperty("mode").GetString(), Is.EqualTo("http"), "a default filled in");
            Assert.That(root.GetProperty("backends")[0].GetProperty("weight").GetInt32(), Is.EqualTo(1), "a default filled in");
            Assert.That(root.GetProperty("routing").GetProperty("algorithm").GetString(), Is.EqualTo("ring"));
            Assert.That(root.GetProperty("admin").GetProperty("token").GetString(), Is.EqualTo("(redacted)"));
            Assert.That(stdout, Does.Not.Contain("q7Xv0mC2Lr9pW4sT8bYk1nHd"));
        });
    }

    [Test]
    public async Task ValidatePrint_InvalidConfig_PrintsNoConfiguration()
    {
        string path = Write("bad-print.json", """{ "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 0 } ] }""");
        var (code, stdout, stderr) = await Run("validate", path, "--print");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain("backends[0].weight"));
        });
    }

    [Test]
    public async Task Validate_BadConfig_PrintsEveryErrorWithThePathAndExitsTwo()
    {
        string path = Write("bad.json", """
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ],
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001", "weight": 0 },
                            { "id": "s1", "address": "127.0.0.1:8002" } ] }
            """);
        var (code, stdout, stderr) = await Run("validate", path);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain($"{path}: backends[0].weight: must be 1..1000, got 0"));
            Assert.That(stderr, Does.Contain($"{path}: backends[1].id: duplicate id 's1' (also backends[0])"));
            Assert.That(stderr, Does.Contain("2 error(s); configuration rejected"));
        });
    }

    [Test]
    public async Task Validate_LoadsTheCertificates_AndRejectsOneThatDoesNotMatchItsKey()
    {
        // A good certificate with another certificate's key, and a file that is not PEM: both
        // exist (the loader's check), neither loads.
        string Pem(string name, out string keyPath)
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
                "CN=" + name, key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            keyPath = Write(name + ".key", key.ExportPkcs8PrivateKeyPem());
            return Write(name + ".crt", certificate.ExportCertificatePem());
        }

        string good = Pem("good", out string goodKey);
        Pem("other", out string otherKey);
        string garbage = Write("garbage.crt", "not a certificate");
        string Config(string name, string certificate, string key) => Write(name, $$"""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8443", "tls": { "certificate": "{{certificate}}", "key": "{{key}}" } },
                             { "name": "plain", "address": "127.0.0.1:8080" } ],
              "backends": [ { "id": "s1", "address": "127.0.0.1:8001" } ] }
            """);

        var ok = await Run("validate", Config("ok.json", good, goodKey));
        string mismatched = Config("mismatched.json", good, otherKey);
        var wrongKey = await Run("validate", mismatched);
        var notPem = await Run("validate", Config("garbage.json", garbage, goodKey));
        Assert.Multiple(() =>
        {
            Assert.That(ok.Code, Is.Zero, ok.Stderr);
            Assert.That(wrongKey.Code, Is.EqualTo(2));
            Assert.That(wrongKey.Stdout, Is.Empty);
            Assert.That(wrongKey.Stderr, Does.Contain($"{mismatched}: listeners[0].tls: cannot load the certificate {good} with the key {otherKey}"));
            Assert.That(wrongKey.Stderr, Does.Contain("1 error(s); configuration rejected"));
            Assert.That(notPem.Code, Is.EqualTo(2));
            Assert.That(notPem.Stderr, Does.Contain("listeners[0].tls: cannot load the certificate " + garbage));
        });
    }

    [Test]
    public async Task EveryCommand_RefusesAnInvalidConfigWithExitTwo()
    {
        string path = Write("bad.json", "{}");
        foreach (string command in new[] { "validate", "route", "ring", "serve" })
        {
            var (code, _, stderr) = await Run(command, "--config", path);
            Assert.That(code, Is.EqualTo(2), command);
            Assert.That(stderr, Does.Contain("listeners: is required"), command);
        }
    }

    [Test]
    public async Task Route_PrintsKeyTabBackend_TheSameForTheSamePath()
    {
        string input = "/a\n/b\n/a?x=1\n\n/a\n";
        var (code, stdout, _) = await RunWithInput(input, "route", "--config", ConfigLoaderTests.RepoFile("lb.json"));
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(lines, Has.Length.EqualTo(4), "empty lines are skipped");
            Assert.That(lines.Select(l => l.Split('\t')[0]), Is.EqualTo(new[] { "/a", "/b", "/a?x=1", "/a" }));
            Assert.That(lines.Select(l => l.Split('\t')[1]), Has.All.Matches<string>(id => id is "s1" or "s2" or "s3"));
            // The path key cuts the query, so /a?x=1 goes where /a goes.
            Assert.That(lines[2].Split('\t')[1], Is.EqualTo(lines[0].Split('\t')[1]));
            Assert.That(lines[3], Is.EqualTo(lines[0]));
        });
    }

    [Test]
    public async Task Route_SpreadsDistinctPathsOverEveryBackend()
    {
        string input = string.Join('\n', Enumerable.Range(0, 300).Select(i => "/item/" + i));
        var (_, stdout, _) = await RunWithInput(input, "route", "--config", ConfigLoaderTests.RepoFile("lb.json"));
        var backends = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[1]).Distinct();
        Assert.That(backends, Is.EquivalentTo(new[] { "s1", "s2", "s3" }));
    }

    [Test]
    public async Task Route_ClientIpKey_ReadsAddresses_AndReportsBadLines()
    {
        string path = Write("ip.json", """
            { "listeners": [ { "name": "t", "address": "127.0.0.1:0", "mode": "tcp" } ],
              "routing": { "key": "client-ip" },
              "backends": [ { "id": "a", "address": "127.0.0.1:8001" }, { "id": "b", "address": "127.0.0.1:8002" } ] }
            """);
        var (code, stdout, stderr) = await RunWithInput("10.1.2.3\nnot-an-ip\n::ffff:10.1.2.3\n", "route", "--config", path);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stderr, Does.Contain("line 2: 'not-an-ip' is not an IP address"));
            Assert.That(lines, Has.Length.EqualTo(2));
            Assert.That(lines[1].Split('\t')[1], Is.EqualTo(lines[0].Split('\t')[1]), "an IPv4-mapped address routes like the IPv4 one");
        });
    }

    [TestCase("route")]
    [TestCase("ring")]
    public async Task RouteAndRing_OnBackendsFoundThroughDns_SayTheyCannotSeeThem(string command)
    {
        string path = Write("dns.json", """
            { "listeners": [ { "name": "w", "address": "127.0.0.1:0" } ],
              "discovery": [ { "group": "web", "srv": "_http._tcp.web.example", "resolver": "127.0.0.1:53" } ] }
            """);
        var (code, stdout, stderr) = await RunWithInput("/a\n", command, "--config", path);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain($"finds backends through DNS (discovery group 'web'); {command} works only over backends listed in it"));
        });
    }

    [Test]
    public async Task Route_WithRoundRobin_SaysThereIsNoKey()
    {
        string path = Write("rr.json", """
            { "listeners": [ { "name": "w", "address": "127.0.0.1:0" } ], "routing": { "algorithm": "round-robin" },
              "backends": [ { "id": "a", "address": "127.0.0.1:8001" } ] }
            """);
        var (code, _, stderr) = await RunWithInput("/a\n", "route", "--config", path);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stderr, Does.Contain("round-robin does not route on a key"));
        });
    }

    [Test]
    public async Task Ring_PrintsSharesAndMovedKeysPerBackend()
    {
        var (code, stdout, _) = await Run("ring", "--config", ConfigLoaderTests.RepoFile("lb.json"), "--keys", "30000");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Contain("routing: ring, hash xxhash3, 3 backends, 480 points"));
            Assert.That(stdout, Does.Contain("keys: 30000 synthetic"));
            Assert.That(stdout, Does.Match(@"s1\s+1\s+160\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\d+\.\d\d%"));
            Assert.That(stdout, Does.Contain("max/mean (weighted): space"));
        });
    }

    [Test]
    public async Task Ring_Json_IsMachineReadable()
    {
        var (code, stdout, _) = await Run("ring", "--config", ConfigLoaderTests.RepoFile("lb.json"), "--keys", "3000", "--json");
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var shares = json.RootElement.GetProperty("shares");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(json.RootElement.GetProperty("algorithm").GetString(), Is.EqualTo("ring"));
            Assert.That(shares.GetArrayLength(), Is.EqualTo(3));
            Assert.That(shares.EnumerateArray().Sum(s => s.GetProperty("keyShare").GetDouble()), Is.EqualTo(1.0).Within(1e-9));
            Assert.That(shares.EnumerateArray().Sum(s => s.GetProperty("spaceShare").GetDouble()), Is.EqualTo(1.0).Within(1e-9));
        });
    }

    [TestCase("--version", "pipebalancer 0.1.0")]
    [TestCase("-v", "pipebalancer 0.1.0")]
    [TestCase("--help", "pipebalancer validate [PATH]")]
    [TestCase("help", "--log-format FORMAT")]
    [TestCase("help", "SIGHUP reloads the config file")]
    [TestCase("help", "2 invalid configuration, 64 bad command line")]
    public async Task VersionAndHelp_PrintAndExitZero(string arg, string expected)
    {
        var (code, stdout, _) = await Run(arg);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Contain(expected));
        });
    }

    [TestCase(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [TestCase(new[] { "ring", "--keys" }, "--keys needs a value")]
    [TestCase(new[] { "ring", "--keys", "many" }, "--keys needs a whole number")]
    [TestCase(new[] { "route", "--colour" }, "unknown option '--colour'")]
    [TestCase(new[] { "serve", "--log-format", "xml" }, "--log-format is 'console' or 'json', got 'xml'")]
    [TestCase(new[] { "serve", "--log-format" }, "--log-format needs a value")]
    public async Task BadCommandLine_ExitsSixtyFour(string[] args, string expected)
    {
        var (code, _, stderr) = await Run(args);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(64));
            Assert.That(stderr, Does.Contain(expected));
        });
    }

    [TestCase("ring", "Usage: pipebalancer ring [--config PATH] [--keys N] [--json]", "--keys N")]
    [TestCase("route", "Usage: pipebalancer route [--config PATH]", "key<TAB>backend")]
    [TestCase("validate", "Usage: pipebalancer validate [PATH | --config PATH]", "nginx -t")]
    [TestCase("serve", "--access-log-file PATH", "SIGUSR1 reopens the log files")]
    [TestCase("demo", "--log-file PATH", "sample backend")]
    [TestCase("demo-backend", "--address HOST:PORT", "--id ID")]
    public async Task CommandHelp_PrintsThatCommandsUsageAndOptionsOnly(string command, string usage, string detail)
    {
        var help = await Run(command, "--help");
        var viaHelp = await Run("help", command);
        Assert.Multiple(() =>
        {
            Assert.That(help.Code, Is.Zero);
            Assert.That(help.Stdout, Does.Contain(usage));
            Assert.That(help.Stdout, Does.Contain(detail));
            Assert.That(help.Stdout, Does.Not.Contain("pipebalancer - HTTP/1.1"), "not the overview");
            Assert.That(viaHelp.Stdout, Is.EqualTo(help.Stdout));
        });
    }

    [Test]
    public async Task CommandHelp_ListsNoOptionOfAnotherCommand()
    {
        var route = await Run("route", "-h");
        var validate = await Run("validate", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(route.Stdout, Does.Not.Contain("--keys").And.Not.Contain("--json").And.Not.Contain("--log-format"));
            Assert.That(validate.Stdout, Does.Not.Contain("--keys").And.Not.Contain("--access-log"));
        });
    }

    [TestCase(new[] { "route", "--json" }, "route: unknown option '--json' (an option of ring)")]
    [TestCase(new[] { "validate", "lb.json", "--keys", "3" }, "validate: unknown option '--keys' (an option of ring)")]
    [TestCase(new[] { "ring", "--access-log" }, "ring: unknown option '--access-log' (an option of serve and demo)")]
    [TestCase(new[] { "serve", "--address", "127.0.0.1:1" }, "serve: unknown option '--address' (an option of demo-backend)")]
    [TestCase(new[] { "--keys", "3" }, "serve: unknown option '--keys' (an option of ring)")]
    [TestCase(new[] { "ring", "lb.json" }, "ring: unexpected argument 'lb.json' (ring takes options only)")]
    [TestCase(new[] { "route", "extra" }, "route: unexpected argument 'extra'")]
    [TestCase(new[] { "validate", "a.json", "b.json" }, "validate: unexpected argument 'b.json' (the configuration file is already 'a.json')")]
    [TestCase(new[] { "validate", "a.json", "--config", "b.json" }, "validate: the configuration file is given twice")]
    [TestCase(new[] { "help", "frobnicate" }, "unknown command 'frobnicate'")]
    [TestCase(new[] { "route", "--from", "http://127.0.0.1:9090", "--config", "lb.json" }, "route: --from and --config both say where the backends come from; give one")]
    [TestCase(new[] { "route", "--from", "127.0.0.1:9090" }, "--from needs the admin API's URL, like http://127.0.0.1:9090, got '127.0.0.1:9090'")]
    [TestCase(new[] { "route", "--from" }, "--from needs a value")]
    [TestCase(new[] { "ring", "--from", "http://127.0.0.1:9090" }, "ring: unknown option '--from' (an option of route)")]
    [TestCase(new[] { "serve", "--log-file", "x.log", "--access-log-file", "x.log" }, "--log-file and --access-log-file name the same file 'x.log'")]
    public async Task OptionOfAnotherCommand_OrStrayArgument_IsRefusedWithSixtyFour(string[] args, string expected)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(64));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.Contain(expected));
        });
    }

    [Test]
    public async Task RouteFrom_AnAdminApiThatDoesNotAnswer_ExitsOneWithTheReason()
    {
        // A port nothing listens on: bound, read, closed.
        int port;
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            port = ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
        }

        var (code, stdout, stderr) = await RunWithInput("/a\n", "route", "--from", $"http://127.0.0.1:{port}");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stdout, Is.Empty);
            Assert.That(stderr, Does.StartWith($"http://127.0.0.1:{port}/api/config: cannot read it: "));
        });
    }

    [Test]
    public async Task BadCommandLine_PointsAtTheCommandsHelp()
    {
        var (_, _, stderr) = await Run("route", "--json");
        Assert.That(stderr, Does.Contain("Try 'pipebalancer route --help'."));
    }

    [Test]
    public void AccessLogFile_TurnsTheAccessLogOn()
    {
        Assert.That(CommandLine.TryParse(["serve", "--log-file", "a.log", "--access-log-file", "b.log"], out var line, out string? error), Is.True, error);
        Assert.Multiple(() =>
        {
            Assert.That(line!.LogFile, Is.EqualTo("a.log"));
            Assert.That(line.AccessLogFile, Is.EqualTo("b.log"));
            Assert.That(line.AccessLog, Is.True);
        });
    }

    [Test]
    public async Task Config_PointingAtADirectory_SaysSoAndExitsTwo()
    {
        foreach (string command in new[] { "validate", "route", "ring", "serve" })
        {
            var (code, _, stderr) = await Run(command, "--config", _dir);
            Assert.That(code, Is.EqualTo(2), command);
            Assert.That(stderr, Does.Contain($"cannot read {_dir}: it is a directory, not a file"), command);
            Assert.That(stderr, Does.Not.Contain("denied"), command);
        }
    }

    [Test]
    public async Task Version_NamesTheCommitItWasBuiltFrom()
    {
        var (code, stdout, _) = await Run("--version");
        var match = System.Text.RegularExpressions.Regex.Match(stdout, @"^pipebalancer 0\.1\.0 \(commit ([0-9a-f]{7,40}|unknown)\)\n?$");
        Assert.That(code, Is.Zero);
        Assert.That(match.Success, Is.True, stdout);

        var root = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "PipeBalancer.sln")))
        {
            root = root.Parent;
        }

        if (root is not null && Path.Exists(Path.Combine(root.FullName, ".git")))
        {
            Assert.That(match.Groups[1].Value, Is.Not.EqualTo("unknown"), "built from a git checkout: the commit must be stamped");
        }
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Task<(int Code, string Stdout, string Stderr)> Run(params string[] args) => RunWithInput("", args);

    private static async Task<(int Code, string Stdout, string Stderr)> RunWithInput(string input, params string[] args)
    {
        using var stdin = new StringReader(input);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await Cli.RunAsync(args, stdin, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
