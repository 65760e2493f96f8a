using System.Net;
using System.Text;
using System.Text.Json;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>Changes through the admin API that race one another: every answer says what happened.</summary>
public sealed class ConcurrentChangeTests
{
    [Test]
    public async Task ChangesRacingARemoval_AreAnsweredAsTheyHappened_NeverWith500()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Admin = c.Admin with { RateLimitPerSecond = 0 } });

        // Several servers come and go at once, each raced by its own weight and drain calls,
        // on more threads than the machine has cores so that a call is often paused halfway.
        var addresses = new List<RawBackend>();
        for (int i = 0; i < 8; i++)
        {
            addresses.Add(RawBackend.Counting());
        }

        using var stop = new CancellationTokenSource();
        var busy = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Thread.SpinWait(1000);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        try
        {
            var wrong = await Task.WhenAll(addresses.Select((address, i) => Task.Run(() => RaceAsync(balancer, "dup" + i, address.Port, rounds: 100))));
            Assert.That(wrong.SelectMany(w => w), Is.Empty);
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(busy);
            foreach (var address in addresses)
            {
                await address.DisposeAsync();
            }
        }
    }

    private static async Task<List<string>> RaceAsync(TestBalancer balancer, string id, int port, int rounds)
    {
        using var admin = balancer.CreateAdminClient();
        var wrong = new List<string>();
        for (int round = 0; round < rounds; round++)
        {
            using (var added = await admin.PostAsync("/api/servers", Json($$"""{ "id": "{{id}}", "address": "127.0.0.1:{{port}}" }""")))
            {
                if (added.StatusCode != HttpStatusCode.Created)
                {
                    wrong.Add($"{id} round {round}: POST answered {(int)added.StatusCode}: {await added.Content.ReadAsStringAsync()}");
                    return wrong;
                }
            }

            int weight = 2 + (round % 50);
            var weighing = admin.PutAsync($"/api/servers/{id}/weight", Json($$"""{ "weight": {{weight}} }"""));
            var draining = admin.PostAsync($"/api/servers/{id}/drain", null);
            var removing = admin.DeleteAsync($"/api/servers/{id}");
            using var weighed = await weighing;
            using var drained = await draining;
            using var removed = await removing;

            // The removed backend keeps the entry it had when it left: what was applied to it.
            var gone = balancer.State.Retired.Single(r => r.Config.Id == id);
            string prefix = $"{id} round {round}: ";
            if (removed.StatusCode != HttpStatusCode.NoContent)
            {
                wrong.Add(prefix + $"DELETE answered {(int)removed.StatusCode}");
            }

            if (balancer.State.Current.Backends.Find(id) is not null)
            {
                wrong.Add(prefix + "still in force after its removal");
            }

            wrong.AddRange((await Check(weighed, id, "weight", gone.Config.Weight == weight, body => body.GetProperty("weight").GetInt32() == weight)).Select(w => prefix + w));
            wrong.AddRange((await Check(drained, id, "drain", gone.Config.Drain, body => body.GetProperty("draining").GetBoolean())).Select(w => prefix + w));
        }

        return wrong;
    }

    // 200 with the state applied when the change was applied before the removal; 404 when not.
    private static async Task<List<string>> Check(HttpResponseMessage response, string id, string what, bool applied, Func<JsonElement, bool> showsIt)
    {
        var wrong = new List<string>();
        string text = await response.Content.ReadAsStringAsync();
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                using (var body = JsonDocument.Parse(text))
                {
                    if (!applied)
                    {
                        wrong.Add($"{what} answered 200 but was not applied");
                    }

                    if (body.RootElement.GetProperty("id").GetString() != id || !showsIt(body.RootElement))
                    {
                        wrong.Add($"{what} answered 200 without the state applied: {text}");
                    }
                }

                break;
            case HttpStatusCode.NotFound:
                if (applied)
                {
                    wrong.Add($"{what} answered 404 but was applied");
                }

                break;
            default:
                wrong.Add($"{what} answered {(int)response.StatusCode}: {text}");
                break;
        }

        return wrong;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
