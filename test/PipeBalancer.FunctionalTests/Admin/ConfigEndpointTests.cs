using System.Net;
using System.Text.Json;
using PipeBalancer.Configuration;
using PipeBalancer.FunctionalTests.Infrastructure;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>GET /api/config: the configuration in force, runtime changes included, with every default and no secret.</summary>
public sealed class ConfigEndpointTests
{
    private const string Token = "config-token-0123456789abcdef";

    [Test]
    public async Task GetConfig_ShowsTheConfigurationInForce_WithTheTokenRedacted_AndLoadsBackEqual()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var balancer = await TestBalancer.StartAsync([("a", a.Port), ("b", b.Port)],
            c => c with { Admin = c.Admin with { Token = Token }, Timeouts = c.Timeouts with { ConnectMs = 1234 } });
        using var admin = balancer.CreateAdminClient();
        using var drain = new HttpRequestMessage(HttpMethod.Post, "/api/servers/b/drain");
        drain.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
        using var drained = await admin.SendAsync(drain);
        Assert.That(drained.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        using var response = await admin.GetAsync("/api/config");
        string text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        var withToken = ConfigLoader.Parse(text.Replace("\"(redacted)\"", $"\"{Token}\"", StringComparison.Ordinal));
        var inForce = balancer.State.Current.Config;
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
            Assert.That(response.Headers.CacheControl!.NoStore, Is.True);
            Assert.That(text, Does.Not.Contain(Token));
            Assert.That(root.GetProperty("admin").GetProperty("token").GetString(), Is.EqualTo("(redacted)"));
            Assert.That(root.GetProperty("timeouts").GetProperty("connectMs").GetInt32(), Is.EqualTo(1234));
            Assert.That(root.GetProperty("timeouts").GetProperty("keepAliveMs").GetInt32(), Is.EqualTo(75000), "defaults are filled in");
            Assert.That(root.GetProperty("backends")[1].GetProperty("drain").GetBoolean(), Is.True, "runtime changes are in force");
            Assert.That(ConfigLoader.Parse(text).Errors.Select(e => e.Path), Is.EqualTo(new[] { "admin.token" }), "a redacted answer does not load");
            Assert.That(withToken.Errors, Is.Empty);
            Assert.That(withToken.Config!.Backends, Is.EqualTo(inForce.Backends));
            Assert.That(withToken.Config.Listeners, Is.EqualTo(inForce.Listeners));
            Assert.That(withToken.Config.Discovery, Is.EqualTo(inForce.Discovery));
            Assert.That(withToken.Config with { Listeners = inForce.Listeners, Backends = inForce.Backends, Admin = inForce.Admin, Routing = inForce.Routing, Discovery = inForce.Discovery },
                Is.EqualTo(inForce));
        });
    }

    [Test]
    public async Task PostConfig_IsNotAllowed()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var balancer = await TestBalancer.StartAsync(a);
        using var admin = balancer.CreateAdminClient();
        using var response = await admin.PostAsync("/api/config", new StringContent("{}"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
    }
}
