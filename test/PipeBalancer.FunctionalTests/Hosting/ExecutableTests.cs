using System.Diagnostics;
using System.Net;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>The real executable, started as a user starts it, with a config file and real backends.</summary>
public sealed class ExecutableTests
{
    private static string Executable => Path.Combine(TestContext.CurrentContext.TestDirectory, "pipebalancer");

    [Test]
    public async Task Serve_ProxiesRequests_ServesStats_AndConfiguresTheSocketEngine()
    {
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var s2 = await TestBackend.StartAsync("s2");
        await using var balancer = await BalancerProcess.StartAsync(Executable, $$"""
            {
              "listeners": [ { "name": "web", "address": "127.0.0.1:0", "mode": "http" } ],
              "admin": { "address": "127.0.0.1:0" },
              "backends": [ { "id": "s1", "address": "127.0.0.1:{{s1.Port}}" }, { "id": "s2", "address": "127.0.0.1:{{s2.Port}}" } ]
            }
            """, start =>
            {
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
                start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT");
            });
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var seen = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/item/{i}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            seen.Add(response.Headers.GetValues("X-Backend").Single());
        }

        using var stats = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{balancer.AdminPort}/api/stats"));
        var root = stats.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EquivalentTo(new[] { "s1", "s2" }));
            Assert.That(root.GetProperty("totals").GetProperty("requests").GetInt64(), Is.EqualTo(20));
            Assert.That(root.GetProperty("backends").EnumerateArray().Sum(b => b.GetProperty("requests").GetInt64()), Is.EqualTo(20));
            Assert.That(root.GetProperty("process").GetProperty("inlineSocketCompletions").GetBoolean(), Is.True,
                "the shipped binary turns inline socket completions on by itself");
            Assert.That(root.GetProperty("process").GetProperty("socketEngineThreads").GetString(),
                Is.EqualTo(Math.Max(1, Environment.ProcessorCount / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                "one epoll thread per two cores");
        });
    }

    [Test]
    public async Task StartedInADirectoryTree_ItWatchesNoneOfIt()
    {
        // ASP.NET Core's builders watch their content root and every directory under it for
        // appsettings.json: one inotify instance per app (admin and every listener), over the
        // whole tree the balancer was started in.
        string tree = Directory.CreateTempSubdirectory("pipebalancer-cwd-").FullName;
        try
        {
            var directories = new List<string> { tree };
            for (int i = 0; i < 5; i++)
            {
                directories.Add(Directory.CreateDirectory(Path.Combine(tree, $"d{i}", "inner")).FullName);
            }

            await using var s1 = await TestBackend.StartAsync("s1");
            await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(s1.Port), start => start.WorkingDirectory = tree);
            var treeInodes = directories.Select(d => Inode(d)).ToHashSet();
            var watched = WatchedInodes(balancer.Id);

            Assert.Multiple(() =>
            {
                Assert.That(watched, Is.Not.Empty, "lb.json's directory is watched for reloads");
                Assert.That(watched.Intersect(treeInodes), Is.Empty, "no directory of the working tree is watched");
            });
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
    }

    // The inodes every inotify instance of the process watches (/proc/PID/fdinfo: "inotify wd:1 ino:1a2b ...", ino in hex).
    private static List<ulong> WatchedInodes(int pid)
    {
        var inodes = new List<ulong>();
        foreach (var info in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            string text;
            try
            {
                text = File.ReadAllText(info);
            }
            catch (IOException)
            {
                continue;
            }

            foreach (var line in text.Split('\n').Where(l => l.StartsWith("inotify wd:", StringComparison.Ordinal)))
            {
                var ino = line.Split(' ').Single(f => f.StartsWith("ino:", StringComparison.Ordinal))[4..];
                inodes.Add(ulong.Parse(ino, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return inodes;
    }

    private static ulong Inode(string path)
    {
        // stat -c %i: the inode number in decimal.
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true })!;
        string output = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return ulong.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task AtStart_WhatTheAdminAppsAnswersNeed_IsLoadedBeforeAnyoneAsks()
    {
        // A process out of descriptors cannot load an assembly, and keeps that failure: the
        // admin app's answers (Kestrel's reason phrases among them) are loaded at start.
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(s1.Port));
        string maps = await File.ReadAllTextAsync($"/proc/{balancer.Id}/maps");
        Assert.That(maps, Does.Contain("Microsoft.AspNetCore.WebUtilities.dll"), "nothing asked the admin app anything yet");
        Assert.That(balancer.Output, Has.None.Contains("[1108]"));
    }

    [Test]
    public async Task JsonLogs_AreOneObjectPerLine_WithRejectionsAndTheAccessLog()
    {
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(s1.Port), null, "--log-format", "json", "--access-log");
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            (await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/logged/path")).EnsureSuccessStatusCode();
            using var upload = await client.PostAsync($"http://127.0.0.1:{balancer.ProxyPort}/echo", new StringContent("a body"));
            upload.EnsureSuccessStatusCode();
        }

        using (var raw = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, balancer.ProxyPort)))
        {
            await raw.SendAsync("GET /bad%zz HTTP/1.1\r\nHost: x\r\n\r\n");
            await raw.ReadResponseAsync();
        }

        Assert.That(await balancer.TerminateAsync(), Is.Zero);
        var json = balancer.Output.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l)).ToList();
        var rejected = json.SingleOrDefault(d => d.RootElement.TryGetProperty("EventId", out var id) && id.GetInt32() == 1001);
        var access = json.SingleOrDefault(d => d.RootElement.TryGetProperty("target", out var t) && t.GetString() == "/logged/path");
        var post = json.SingleOrDefault(d => d.RootElement.TryGetProperty("method", out var m) && m.GetString() == "POST");
        Assert.Multiple(() =>
        {
            Assert.That(balancer.Output.Where(l => !l.StartsWith('{')), Is.Empty, "stdout carries JSON lines only");
            Assert.That(balancer.Output, Has.Count.GreaterThan(2));
            Assert.That(rejected, Is.Not.Null, "the rejected request's line");
            Assert.That(rejected!.RootElement.GetProperty("LogLevel").GetString(), Is.EqualTo("Information"));
            Assert.That(rejected.RootElement.GetProperty("State").GetProperty("Status").GetInt32(), Is.EqualTo(400));
            Assert.That(access, Is.Not.Null, "the access log line of the proxied request");
            Assert.That(access!.RootElement.GetProperty("target").GetString(), Is.EqualTo("/logged/path"));
            Assert.That(access.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(200));
            Assert.That(access.RootElement.GetProperty("backend").GetString(), Is.EqualTo("s1"));
            Assert.That(post?.RootElement.GetProperty("target").GetString(), Is.EqualTo("/echo"), "a request with a body has its line too");
            Assert.That(json.Any(d => d.RootElement.TryGetProperty("EventId", out var id) && id.GetInt32() == 4008), Is.True, "the stop is logged");
        });
        foreach (var document in json)
        {
            document.Dispose();
        }
    }

    [Test]
    public async Task Sigterm_UnderLoad_FailsNoStartedRequest_AndExitsZero()
    {
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(s1.Port));
        var endPoint = new IPEndPoint(IPAddress.Loopback, balancer.ProxyPort);
        int answered = 0;
        var broken = new System.Collections.Concurrent.ConcurrentQueue<string>();
        bool stopping = false;

        // Raw keep-alive clients: a request counts as started once its bytes were sent on an
        // open connection; it must then get a whole response.
        var clients = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 5000 && !Volatile.Read(ref stopping); )
            {
                RawClient client;
                try
                {
                    client = await RawClient.ConnectAsync(endPoint);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    return;
                }

                using (client)
                {
                    for (; i < 5000; i++)
                    {
                        try
                        {
                            await client.SendAsync($"GET /t/{worker}/{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                        }
                        catch (System.Net.Sockets.SocketException)
                        {
                            break;
                        }

                        var response = await client.ReadResponseAsync(timeout: TimeSpan.FromSeconds(10));
                        if (response is null)
                        {
                            // Closed before this request was read: only an idle connection may be closed.
                            if (!Volatile.Read(ref stopping))
                            {
                                broken.Enqueue($"closed without an answer to /t/{worker}/{i}");
                            }

                            break;
                        }

                        if (response.Status != 200)
                        {
                            broken.Enqueue($"{response.Status} for /t/{worker}/{i}");
                        }

                        Interlocked.Increment(ref answered);
                        if (response.Header("Connection") == "close")
                        {
                            break;
                        }
                    }
                }
            }
        })).ToArray();
        await Eventually.Until(() => Volatile.Read(ref answered) > 500, 30);
        Volatile.Write(ref stopping, true);
        int exit = await balancer.TerminateAsync();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, balancer.Errors);
            Assert.That(broken, Is.Empty);
        });
    }

    [TestCase("tcp")]
    [TestCase("http")]
    public async Task Serve_OnAListenerAddressInUse_NamesTheListenerInOneLine_AndExitsOne(string mode)
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, stdout, stderr) = await RunServe($$"""
            { "listeners": [ { "name": "free", "address": "127.0.0.1:0" }, { "name": "raw", "address": "127.0.0.1:{{port}}", "mode": "{{mode}}" } ],
              "admin": { "address": "127.0.0.1:0" }, "health": { "enabled": false },
              "backends": [ { "id": "s1", "address": "127.0.0.1:1" } ] }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stderr, Is.EqualTo($"pipebalancer: cannot start: listener raw ({mode}) on 127.0.0.1:{port}: address already in use\n"));
            Assert.That(stdout, Does.Not.Contain("Exception").And.Not.Contain(" at "), "no stack trace");
        });
    }

    [Test]
    public async Task Serve_OnAnAdminAddressInUse_SaysItIsTheAdminAddressInOneLine_AndExitsOne()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, stdout, stderr) = await RunServe($$"""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:0" } ],
              "admin": { "address": "127.0.0.1:{{port}}" }, "health": { "enabled": false },
              "backends": [ { "id": "s1", "address": "127.0.0.1:1" } ] }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(stderr, Is.EqualTo($"pipebalancer: cannot start: admin address 127.0.0.1:{port}: address already in use\n"));
            Assert.That(stdout, Does.Not.Contain("Exception").And.Not.Contain(" at "), "no stack trace");
        });
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunServe(string configJson)
    {
        string config = Path.Combine(Path.GetTempPath(), $"pipebalancer-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, configJson);
        try
        {
            return await ExecutableRun.RunAsync(Executable, "serve", "--config", config);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Test]
    public async Task Validate_OnABadFile_ExitsTwo_AndNamesEachError()
    {
        string config = Path.Combine(Path.GetTempPath(), $"pipebalancer-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{ "listeners": [], "backends": [ { "id": "a", "address": "x" } ] }""");
        try
        {
            var start = new ProcessStartInfo(Executable, ["validate", config]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(start)!;
            string stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.Multiple(() =>
            {
                Assert.That(process.ExitCode, Is.EqualTo(2));
                Assert.That(stderr, Does.Contain("listeners: needs at least one entry"));
                Assert.That(stderr, Does.Contain("backends[0].address: must be host:port"));
            });
        }
        finally
        {
            File.Delete(config);
        }
    }
}
