using System.Net;
using System.Text;
using PipeBalancer.Forwarding;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Forwarding;

/// <summary>The access log of a running balancer: one line per proxied request, with the status the client got.</summary>
public sealed class AccessLogTests
{
    [Test]
    public async Task EachRequest_GetsItsLine_WithTheStatusTheClientGot()
    {
        await using var a = await TestBackend.StartAsync("a");
        var output = new MemoryStream();
        await using (var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Limits = c.Limits with { MaxBodyBytes = 16 } }, accessLog: new AccessLog(output, json: false)))
        {
            using var client = balancer.CreateClient();
            (await client.GetAsync("/first")).EnsureSuccessStatusCode();
            using (var small = await client.PostAsync("/echo", new StringContent("tiny")))
            {
                Assert.That(small.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }

            // Chunked, and the chunk that passes the limit sent once the request reached the
            // backend: the limit is found while the body streams (a body over the limit already
            // there with the head is refused before any backend, with no access-log line).
            using var raw = await RawClient.ConnectAsync(balancer.EndPoint);
            await raw.SendAsync("POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n");
            await Eventually.Until(() => a.Paths.Contains("/sink"));
            await raw.SendAsync("20\r\n" + new string('z', 32) + "\r\n0\r\n\r\n");
            Assert.That((await raw.ReadResponseAsync())!.Status, Is.EqualTo(413));
            using (var status = await client.GetAsync("/status/404"))
            {
                Assert.That(status.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            }
        }

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(f => f[3], f => (Method: f[2].Trim('"'), Status: f[5], Backend: f[6]));
        Assert.Multiple(() =>
        {
            Assert.That(lines.Keys, Is.EquivalentTo(new[] { "/first", "/echo", "/sink", "/status/404" }));
            Assert.That(lines["/first"], Is.EqualTo(("GET", "200", "a")));
            Assert.That(lines["/echo"], Is.EqualTo(("POST", "200", "a")), "a request with a body has its line");
            Assert.That(lines["/sink"], Is.EqualTo(("POST", "413", "a")), "the status the client got, not an earlier one");
            Assert.That(lines["/status/404"], Is.EqualTo(("GET", "404", "a")));
        });
    }
}
