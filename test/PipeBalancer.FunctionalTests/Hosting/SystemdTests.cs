using System.Net.Sockets;
using System.Text;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Hosting;

/// <summary>systemd's notify protocol (Type=notify), with the test in systemd's place.</summary>
public sealed class SystemdTests
{
    [Test]
    public async Task UnderSystemd_TellsReadyOnceListening_AndStoppingOnSigterm()
    {
        string socketPath = Path.Combine(Path.GetTempPath(), $"pb-notify-{Guid.NewGuid():N}.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        try
        {
            await using var s1 = await TestBackend.StartAsync("s1");
            await using var balancer = await BalancerProcess.StartAsync(Path.Combine(TestContext.CurrentContext.TestDirectory, "pipebalancer"), BalancerProcess.OneBackendConfig(s1.Port), start => start.Environment["NOTIFY_SOCKET"] = socketPath);
            string ready = await ReceiveAsync(notify);
            using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                (await client.GetAsync($"http://127.0.0.1:{balancer.ProxyPort}/after-ready")).EnsureSuccessStatusCode();
            }

            int exit = await balancer.TerminateAsync();
            string stopping = await ReceiveAsync(notify);
            Assert.Multiple(() =>
            {
                Assert.That(ready, Does.Contain("READY=1"));
                Assert.That(stopping, Does.Contain("STOPPING=1"));
                Assert.That(exit, Is.Zero);
            });
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[1024];
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
