using System.Net;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Backends;

public sealed class RetryTests
{
    /// <summary>A backend that reads the request head and closes without answering.</summary>
    private static RawBackend Resetting() => new(async (socket, self) =>
    {
        await self.ReadHeadAsync(socket);
        socket.Close();
    });

    [Test]
    public async Task GetThatFailsAfterBeingSent_IsRetriedOnTheNextServer_PostIsNot()
    {
        await using var broken = Resetting();
        await using var live = await TestBackend.StartAsync("live");
        await using var balancer = await TestBalancer.StartAsync([("broken", broken.Port), ("live", live.Port)],
            c => c with { Circuit = c.Circuit with { Enabled = false } });
        var router = balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(2);
        string path = Enumerable.Range(0, 100).Select(i => $"/r/{i}").First(p => router.Select(System.Text.Encoding.ASCII.GetBytes(p), view) == 0);
        using var client = balancer.CreateClient();
        using var get = await client.GetAsync(path);
        using var post = await client.PostAsync(path, new StringContent("once"));
        Assert.Multiple(() =>
        {
            Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(get.Headers.GetValues("X-Backend").Single(), Is.EqualTo("live"));
            Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), "a POST that was sent is never repeated");
            Assert.That(live.Paths.Count(p => p == path), Is.EqualTo(1), "only the GET reached the live backend");
            Assert.That(balancer.State.Counters.Retries, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task PutWithASmallBody_IsRetriedWithItsBody_ALargeOneIsNot()
    {
        await using var broken = Resetting();
        await using var live = await TestBackend.StartAsync("live");
        await using var balancer = await TestBalancer.StartAsync([("broken", broken.Port), ("live", live.Port)], c => c with
        {
            Circuit = c.Circuit with { Enabled = false },
            Routing = c.Routing with { Key = PipeBalancer.Routing.KeySource.TryParse("path-query", out var key, out _) ? key! : c.Routing.Key },
            Retries = c.Retries with { MaxBufferedBodyBytes = 1000 },
        });
        var router = balancer.State.Current.Backends.Router;
        var view = new PipeBalancer.Routing.AllEligibleView(2);
        var targets = Enumerable.Range(0, 200).Select(i => $"/echo?n={i}")
            .Where(p => router.Select(System.Text.Encoding.ASCII.GetBytes(p), view) == 0).Take(2).ToArray();
        using var client = balancer.CreateClient();
        using var small = await client.PutAsync(targets[0], new StringContent("small payload"));
        using var large = await client.PutAsync(targets[1], new StringContent(new string('L', 5000)));
        Assert.Multiple(async () =>
        {
            Assert.That(small.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await small.Content.ReadAsStringAsync(), Is.EqualTo("small payload"), "the body went along with the retry");
            Assert.That(large.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), "a body over retries.maxBufferedBodyBytes is not kept");
        });
    }

    [Test]
    public async Task TotalOutage_RetriesStayWithinTheBudget()
    {
        await using var a = Resetting();
        await using var b = Resetting();
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Circuit = c.Circuit with { Enabled = false } });
        using var client = balancer.CreateClient();
        const int Requests = 60;
        for (int i = 0; i < Requests; i++)
        {
            using var response = await client.GetAsync($"/o/{i}");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        }

        // Every request could have been retried once (two servers); the budget allows 20% of
        // the requests over 10 s, at least 3.
        long retries = balancer.State.Counters.Retries;
        Assert.Multiple(() =>
        {
            Assert.That(retries, Is.GreaterThan(0));
            Assert.That(retries, Is.LessThanOrEqualTo((long)(Requests * 0.2) + 1));
        });
    }
}
