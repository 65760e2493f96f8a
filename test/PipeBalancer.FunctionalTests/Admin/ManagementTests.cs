using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using PipeBalancer.Configuration;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>Runtime changes through the admin API: each moves exactly the keys `pipebalancer route` predicts for the new set.</summary>
public sealed class ManagementTests
{
    private const string Token = "test-token-0123456789abcdef";

    [Test]
    public async Task AddServer_MovesExactlyThePredictedKeys_ToTheNewServer()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        var paths = RoutePrediction.Paths("add", 600);
        var before = await RoutePrediction.PredictAsync([a, b], paths);
        var after = await RoutePrediction.PredictAsync([a, b, c], paths);
        using var client = balancer.CreateClient();
        Assert.That(await RoutePrediction.ObserveAsync(client, paths), Is.EqualTo(before));

        using var admin = balancer.CreateAdminClient();
        using var added = await admin.PostAsync("/api/servers", Json($$"""{ "id": "c", "address": "127.0.0.1:{{c.Port}}" }"""));
        using var body = JsonDocument.Parse(await added.Content.ReadAsStringAsync());
        var seen = await RoutePrediction.ObserveAsync(client, paths);
        var moved = paths.Where(p => before[p] != after[p]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(added.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(added.Headers.Location!.OriginalString, Is.EqualTo("/api/servers/c"));
            Assert.That(body.RootElement.GetProperty("runtime").GetBoolean(), Is.True);
            Assert.That(paths.Where(p => seen[p] != after[p]).Select(p => $"{p}: seen {seen[p]}, predicted {after[p]}, before {before[p]}"), Is.Empty, "every key goes where the route command says");
            Assert.That(moved.All(p => after[p] == "c"), Is.True, "keys move only to the new server");
            Assert.That(moved, Has.Count.InRange(100, 300), "about a third of the keys moved");
            Assert.That(c.Requests, Is.EqualTo(moved.Count));
        });
    }

    [Test]
    public async Task RemoveServer_MovesOnlyItsKeys_AndItsRequestInFlightFinishes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = new RawBackend(async (socket, self) =>
        {
            while (await self.ReadHeadAsync(socket) is { } head)
            {
                if (head.Contains("/hold", StringComparison.Ordinal))
                {
                    arrived.TrySetResult();
                    await release.Task;
                }

                await socket.SendAsync("HTTP/1.1 200 OK\r\nX-Backend: s\r\nContent-Length: 4\r\n\r\nslow"u8.ToArray());
            }
        });
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port), ("s", slow.Port)]);
        var paths = RoutePrediction.Paths("rm", 600);
        var before = await RoutePrediction.PredictAsync([("a", a.Port, 1), ("b", b.Port, 1), ("s", slow.Port, 1)], paths);
        var after = await RoutePrediction.PredictAsync([a, b], paths);
        var holdCandidates = RoutePrediction.Paths("hold", 100);
        var holdRoutes = await RoutePrediction.PredictAsync([("a", a.Port, 1), ("b", b.Port, 1), ("s", slow.Port, 1)], holdCandidates);
        string hold = holdCandidates.First(p => holdRoutes[p] == "s");

        using var inFlight = await RawClient.ConnectAsync(balancer.EndPoint);
        await inFlight.SendAsync($"GET {hold} HTTP/1.1\r\nHost: x\r\n\r\n");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using var admin = balancer.CreateAdminClient();
        using var removed = await admin.DeleteAsync("/api/servers/s");
        using var client = balancer.CreateClient();
        var seen = await RoutePrediction.ObserveAsync(client, paths);
        release.SetResult();
        var finished = await inFlight.ReadResponseAsync();
        using var gone = await admin.GetAsync("/api/servers/s");
        Assert.Multiple(() =>
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(seen, Is.EqualTo(after));
            Assert.That(paths.Where(p => before[p] != after[p]).All(p => before[p] == "s"), Is.True, "only the removed server's keys moved");
            Assert.That(finished!.Status, Is.EqualTo(200), "the request in flight to the removed server finished");
            Assert.That(finished.BodyText, Is.EqualTo("slow"));
            Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [Test]
    public async Task RemoveServer_TheLastOne_IsAConflict()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var admin = balancer.CreateAdminClient();
        using var response = await admin.DeleteAsync("/api/servers/a");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(balancer.State.Current.Backends.Backends, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task SetWeight_MovesExactlyThePredictedKeys()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        var paths = RoutePrediction.Paths("w", 600);
        var after = await RoutePrediction.PredictAsync([("a", a.Port, 3), ("b", b.Port, 1)], paths);
        using var admin = balancer.CreateAdminClient();
        using var response = await admin.PutAsync("/api/servers/a/weight", Json("""{ "weight": 3 }"""));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        using var client = balancer.CreateClient();
        var seen = await RoutePrediction.ObserveAsync(client, paths);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body.RootElement.GetProperty("weight").GetInt32(), Is.EqualTo(3));
            Assert.That(seen, Is.EqualTo(after));
            Assert.That(after.Values.Count(v => v == "a"), Is.GreaterThan(380), "about three quarters go to a");
        });
    }

    [Test]
    public async Task DrainAndUndrain_StopAndResumeNewRequests()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        var paths = RoutePrediction.Paths("d", 200);
        var normal = await RoutePrediction.PredictAsync([a, b], paths);
        using var admin = balancer.CreateAdminClient();
        using var client = balancer.CreateClient();

        using var drained = await admin.PostAsync("/api/servers/a/drain", null);
        using var drainedBody = JsonDocument.Parse(await drained.Content.ReadAsStringAsync());
        int before = a.Requests;
        var whileDrained = await RoutePrediction.ObserveAsync(client, paths);
        int duringDrain = a.Requests - before;
        using var undrained = await admin.PostAsync("/api/servers/a/undrain", null);
        var afterwards = await RoutePrediction.ObserveAsync(client, paths);
        Assert.Multiple(() =>
        {
            Assert.That(drained.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(drainedBody.RootElement.GetProperty("draining").GetBoolean(), Is.True);
            Assert.That(duringDrain, Is.Zero, "a draining server gets nothing new");
            Assert.That(whileDrained.Values.Distinct(), Is.EqualTo(new[] { "b" }));
            Assert.That(undrained.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(afterwards, Is.EqualTo(normal), "undrained, its keys come back");
        });
    }

    [TestCase("""{ "id": "a", "address": "127.0.0.1:1" }""", "$.id", "duplicate id 'a' (also backends[0])")]
    [TestCase("""{ "id": "n", "address": "no-port" }""", "$.address", "")]
    [TestCase("""{ "id": "n", "adress": "127.0.0.1:1" }""", "$.adress", "did you mean 'address'?")]
    [TestCase("""not json""", "$", "not valid JSON")]
    public async Task AddServer_Invalid_Is400ProblemWithEveryErrorAndChangesNothing(string body, string path, string reason)
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var admin = balancer.CreateAdminClient();
        using var response = await admin.PostAsync("/api/servers", Json(body));
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = problem.RootElement.GetProperty("errors").EnumerateArray()
            .ToDictionary(e => e.GetProperty("path").GetString()!, e => e.GetProperty("reason").GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(400));
            Assert.That(errors.Keys, Does.Contain(path));
            Assert.That(errors[path], Does.Contain(reason));
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(1), "nothing was applied");
        });
    }

    [Test]
    public async Task SetWeight_Invalid_Is400_AndUnknownServerIs404()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var admin = balancer.CreateAdminClient();
        using var zero = await admin.PutAsync("/api/servers/a/weight", Json("""{ "weight": 0 }"""));
        using var unknown = await admin.PutAsync("/api/servers/zz/weight", Json("""{ "weight": 2 }"""));
        using var drainUnknown = await admin.PostAsync("/api/servers/zz/drain", null);

        // An unknown server is 404 even with a body over the 64 KB limit (not 413).
        using var unknownBig = await admin.PutAsync("/api/servers/zz/weight", Json("{ \"weight\": 2, \"pad\": \"" + new string('x', 100_000) + "\" }"));
        Assert.Multiple(() =>
        {
            Assert.That(zero.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(unknownBig.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(drainUnknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task WithAToken_MutatingCallsNeedIt_ReadsDoNot()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Admin = c.Admin with { Token = Token } });
        using var admin = balancer.CreateAdminClient();

        using var none = await admin.PostAsync("/api/servers/a/drain", null);
        using var wrong = await Send(admin, HttpMethod.Post, "/api/servers/a/drain", "Bearer " + Token + "x");
        using var wrongScheme = await Send(admin, HttpMethod.Post, "/api/servers/a/drain", "Basic " + Token);
        using var deleteNone = await admin.DeleteAsync("/api/servers/b");
        bool drainedWithoutToken = balancer.State.Current.Backends[0].Draining;
        using var right = await Send(admin, HttpMethod.Post, "/api/servers/a/drain", "Bearer " + Token);
        using var read = await admin.GetAsync("/api/stats");
        using var problem = JsonDocument.Parse(await none.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(none.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Bearer"));
            Assert.That(none.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(401));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(wrongScheme.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(deleteNone.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(drainedWithoutToken, Is.False, "a refused call changes nothing");
            Assert.That(balancer.State.Current.Backends.Backends, Has.Count.EqualTo(2));
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(balancer.State.Current.Backends[0].Draining, Is.True);
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), "reads need no token");
        });
    }

    [Test]
    public async Task ChangesFromAnotherWebOrigin_AreRefused_EvenWithoutAToken()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Admin = c.Admin with { CorsOrigins = ["https://ops.example.com"] } });
        using var admin = balancer.CreateAdminClient();

        // A "simple" cross-site POST, which a browser sends without a preflight.
        using var evil = new HttpRequestMessage(HttpMethod.Post, "/api/servers/a/drain") { Content = new StringContent("", Encoding.UTF8, "text/plain") };
        evil.Headers.Add("Origin", "https://evil.example.net");
        using var refused = await admin.SendAsync(evil);
        using var listed = new HttpRequestMessage(HttpMethod.Post, "/api/servers/b/drain");
        listed.Headers.Add("Origin", "https://ops.example.com");
        using var allowed = await admin.SendAsync(listed);
        using var same = new HttpRequestMessage(HttpMethod.Post, "/api/servers/b/undrain");
        same.Headers.Add("Origin", balancer.AdminUrl.GetLeftPart(UriPartial.Authority));
        using var sameOrigin = await admin.SendAsync(same);
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(balancer.State.Current.Backends[0].Draining, Is.False, "nothing changed");
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a listed origin may");
            Assert.That(sameOrigin.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the dashboard's own origin may");
        });
    }

    [Test]
    public async Task AnEditThatChangesNothing_AppliesNothing()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        using var admin = balancer.CreateAdminClient();
        (await admin.PostAsync("/api/servers/a/drain", null)).EnsureSuccessStatusCode();
        (await admin.PostAsync("/api/servers/a/drain", null)).EnsureSuccessStatusCode();
        (await admin.PutAsync("/api/servers/b/weight", Json("""{ "weight": 1 }"""))).EnsureSuccessStatusCode();
        Assert.Multiple(() =>
        {
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(2), "only the first drain changed anything");
            Assert.That(balancer.State.Current.Backends[1].ChangedAtRuntime, Is.False);
        });
    }

    [Test]
    public async Task Cors_IsOffByDefault_AndAnswersOnlyTheListedOrigins()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using (var plain = await TestBalancer.StartAsync(a))
        {
            using var admin = plain.CreateAdminClient();
            using var response = await Preflight(admin, "https://ops.example.com");
            Assert.That(response.Headers.Contains("Access-Control-Allow-Origin"), Is.False, "no CORS unless configured");
        }

        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Admin = c.Admin with { CorsOrigins = ["https://ops.example.com"] } });
        using var client = balancer.CreateAdminClient();
        using var allowed = await Preflight(client, "https://ops.example.com");
        using var other = await Preflight(client, "https://evil.example.net");
        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/stats");
        get.Headers.Add("Origin", "https://ops.example.com");
        using var simple = await client.SendAsync(get);
        Assert.Multiple(() =>
        {
            Assert.That(allowed.Headers.GetValues("Access-Control-Allow-Origin").Single(), Is.EqualTo("https://ops.example.com"));
            Assert.That(string.Join(",", allowed.Headers.GetValues("Access-Control-Allow-Methods")), Does.Contain("DELETE"));
            Assert.That(other.Headers.Contains("Access-Control-Allow-Origin"), Is.False);
            Assert.That(simple.Headers.GetValues("Access-Control-Allow-Origin").Single(), Is.EqualTo("https://ops.example.com"));
        });
    }

    [Test]
    public async Task RateLimit_Answers429ProblemsBeyondTheLimit_ButNeverToProbes()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port)],
            c => c with { Admin = c.Admin with { RateLimitPerSecond = 5 } });
        using var admin = balancer.CreateAdminClient();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (int i = 0; i < 20; i++)
        {
            var response = await admin.GetAsync("/api/stats");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && limited is null)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }

        var probes = new List<HttpStatusCode>();
        for (int i = 0; i < 20; i++)
        {
            using var response = await admin.GetAsync(i % 2 == 0 ? "/healthz" : "/readyz");
            probes.Add(response.StatusCode);
        }

        Assert.That(limited, Is.Not.Null, "20 requests at once exceed 5 a second");
        using var problem = JsonDocument.Parse(await limited!.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(statuses.Take(5), Is.All.EqualTo(HttpStatusCode.OK), "the first 5 pass");
            Assert.That(limited.Headers.RetryAfter, Is.Not.Null);
            Assert.That(limited.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(429));
            Assert.That(probes, Is.All.EqualTo(HttpStatusCode.OK), "health probes are never limited");
        });
        limited.Dispose();
    }

    [Test]
    public async Task ChangesUnderLoad_DropNoRequest()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var c = await TestBackend.StartAsync("c");
        await using var balancer = await TestBalancer.StartAsync(a, b);
        using var admin = balancer.CreateAdminClient();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int ok = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        bool changing = true;
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            using var client = balancer.CreateClient();
            for (int i = 0; Volatile.Read(ref changing) && i < 20_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.GetAsync($"/load/{worker}/{i}", stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        failures.Add($"{(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Add(e.Message);
                }
            }
        })).ToArray();

        for (int round = 0; round < 10; round++)
        {
            (await admin.PostAsync("/api/servers", Json($$"""{ "id": "c", "address": "127.0.0.1:{{c.Port}}" }"""))).EnsureSuccessStatusCode();
            (await admin.PutAsync("/api/servers/a/weight", Json($$"""{ "weight": {{round % 3 + 1}} }"""))).EnsureSuccessStatusCode();
            (await admin.PostAsync("/api/servers/b/drain", null)).EnsureSuccessStatusCode();
            (await admin.PostAsync("/api/servers/b/undrain", null)).EnsureSuccessStatusCode();
            (await admin.DeleteAsync("/api/servers/c")).EnsureSuccessStatusCode();
            await Task.Delay(20);
        }

        Volatile.Write(ref changing, false);
        await Task.WhenAll(load);
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "no request failed while backends changed");
            Assert.That(ok, Is.GreaterThan(0));
            Assert.That(balancer.State.Current.Generation, Is.EqualTo(50), "49 changes: the first weight change set the weight it had");
        });
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string authorization)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> Preflight(HttpClient client, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/servers/a");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "DELETE");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");
        return client.SendAsync(request);
    }
}
