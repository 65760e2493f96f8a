using System.Net;
using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>
/// The executable started under a low descriptor limit and flooded with connections: it must
/// survive, say so in its log, and serve again once the flood has gone.
/// </summary>
[CancelAfter(240_000)]
public sealed class DescriptorExhaustionTests
{
    private static string Executable => Path.Combine(TestContext.CurrentContext.TestDirectory, "pipebalancer");

    // Why this once failed in about half the runs: the JIT executable holds about two
    // descriptors per loaded assembly, some 235 of 256 once started, yet its accept budget had a
    // floor of 8 clients (16 descriptors with their backend connections). The flood took those,
    // and the admin app's first request afterwards had to load assemblies lazily (Kestrel's
    // ReasonPhrases needs Microsoft.AspNetCore.WebUtilities): the load failed on EMFILE, the
    // type initializer's failure is kept for the life of the process, and every admin response
    // threw from then on, so /readyz never answered (once, the process also died with "Out of
    // memory."). Whether it failed depended on how many pooled backend connections were still
    // open when the first admin request came. The budget is now never more than is free (here:
    // one client at a time, event 1105 says so at start), so the runtime keeps its descriptors.
    //
    // 256 descriptors and a 400-connection flood: more connections than descriptors, within the
    // listen backlog (512), so every flood connection is made and waits its turn.
    [Test]
    public async Task FloodUnderALowDescriptorLimit_IsSurvived_Logged_AndServingResumes()
    {
        await using var backend = await TestBackend.StartAsync("s1");

        // A fresh process limited to 256 descriptors (soft and hard: the runtime raises the soft
        // limit to the hard one), whose first traffic is the flood.
        await using var balancer = await BalancerProcess.StartAsync(Executable, BalancerProcess.OneBackendConfig(backend.Port), start =>
        {
            string executable = start.FileName;
            start.FileName = "prlimit";
            start.ArgumentList.Insert(0, "--nofile=256:256");
            start.ArgumentList.Insert(1, executable);
        });
        var endPoint = new IPEndPoint(IPAddress.Loopback, balancer.ProxyPort);
        var flood = new List<Socket>();
        for (int i = 0; i < 400; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endPoint).WaitAsync(TimeSpan.FromSeconds(5));
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /flood/{i} HTTP/1.1\r\nHost: x\r\n\r\n"));
                flood.Add(socket);
            }
            catch (Exception e) when (e is SocketException or TimeoutException)
            {
                socket.Dispose();
            }
        }

        // Held a while, as in the report, then closed.
        await Task.Delay(3000);
        foreach (var socket in flood)
        {
            socket.Dispose();
        }

        // Each request on a connection of its own, closed after the answer: a keep-alive
        // connection left open would hold the one client connection the budget allows here,
        // and /readyz rightly says not ready while accepting is paused.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.ConnectionClose = true;
        await Eventually.Until(() => Get(http, $"http://127.0.0.1:{balancer.ProxyPort}/after") == HttpStatusCode.OK, seconds: 120);
        var next = new List<HttpStatusCode?>();
        for (int i = 0; i < 5; i++)
        {
            next.Add(Get(http, $"http://127.0.0.1:{balancer.ProxyPort}/next/{i}"));
        }

        string ready = "";
        await Eventually.Until(() =>
        {
            ready = http.GetStringAsync($"http://127.0.0.1:{balancer.AdminPort}/readyz").ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : "").GetAwaiter().GetResult();
            return ready == "ready\n";
        }, seconds: 60);

        // The end of the episode is logged when /readyz stops counting it.
        await Eventually.Until(() => balancer.Output.Any(l => l.Contains("[1106]", StringComparison.Ordinal)), seconds: 30);
        var log = string.Join('\n', balancer.Output) + "\n" + balancer.Errors;
        Assert.Multiple(() =>
        {
            Assert.That(flood, Has.Count.GreaterThan(256), "the flood outnumbered the descriptors");
            Assert.That(next, Has.All.EqualTo(HttpStatusCode.OK), "the requests after the flood are served");
            Assert.That(ready, Is.EqualTo("ready\n"));
            Assert.That(log, Does.Contain("[1105]"), "the log says how many clients the descriptor limit leaves room for");
            Assert.That(log, Does.Contain("[1104]"), "the log says accepting paused");
            Assert.That(log, Does.Contain("[1106]"), "the log says accepting went on");
            Assert.That(log, Does.Not.Contain("Out of memory"));
            Assert.That(log, Does.Not.Contain("fail: PipeBalancer.Forwarding[1003]"), "no fault of the balancer's own");
            Assert.That(log, Does.Not.Contain("Could not load file or assembly"), "no lazy load failed for want of descriptors");
            Assert.That(log, Does.Not.Contain("An unhandled exception was thrown by the application"), "the admin app answered every request");
        });
    }

    private static HttpStatusCode? Get(HttpClient http, string url)
    {
        try
        {
            using var response = http.GetAsync(url).GetAwaiter().GetResult();
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
