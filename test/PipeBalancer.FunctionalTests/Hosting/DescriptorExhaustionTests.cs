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

    // Explicit until it holds: on the JIT executable (whose assemblies leave room for only 8
    // client connections under 256 descriptors) serving resumes within seconds in about half
    // the runs and not within 90 s in the others. Run it by name to reproduce:
    // dotnet test test/PipeBalancer.FunctionalTests -c Release --filter "FullyQualifiedName~DescriptorExhaustion"
    [Test]
    [Explicit("serving does not always resume after the flood on the JIT executable; see the comment above")]
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

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        HttpStatusCode? last = null;
        await Eventually.Until(() =>
        {
            try
            {
                using var response = http.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/after").GetAwaiter().GetResult();
                last = response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = null;
            }

            return last == HttpStatusCode.OK;
        }, seconds: 90);
        string ready = "";
        await Eventually.Until(() =>
        {
            ready = http.GetStringAsync($"http://127.0.0.1:{balancer.AdminPort}/readyz").ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : "").GetAwaiter().GetResult();
            return ready == "ready\n";
        }, seconds: 30);
        var log = string.Join('\n', balancer.Output) + "\n" + balancer.Errors;
        Assert.Multiple(() =>
        {
            Assert.That(flood, Has.Count.GreaterThan(256), "the flood outnumbered the descriptors");
            Assert.That(log, Does.Contain("[1104]").Or.Contain("[1102]"), "the log says the data plane ran short of descriptors");
            Assert.That(log, Does.Not.Contain("Out of memory"));
            Assert.That(log, Does.Not.Contain("fail: PipeBalancer.Forwarding[1003]"), "no fault of the balancer's own");
            Assert.That(ready, Is.EqualTo("ready\n"));
        });
    }
}
