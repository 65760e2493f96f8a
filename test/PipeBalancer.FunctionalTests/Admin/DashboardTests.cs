using System.Globalization;
using Microsoft.Playwright;
using PipeBalancer.FunctionalTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace PipeBalancer.FunctionalTests.Admin;

/// <summary>
/// The dashboard as a person sees it: Debian's Chromium, headless, driven by Playwright, on the
/// admin address of a balancer that real traffic flows through while one backend is dead.
/// </summary>
[NonParallelizable]
public sealed class DashboardTests
{
    // Debian's package, not a browser Playwright downloads: nothing is fetched at test time.
    private const string Chromium = "/usr/bin/chromium";
    private const int MaxRequests = 20_000;

    // Each wait for the page is bounded; the whole test is bounded by CancelAfter.
    private static readonly LocatorAssertionsToHaveTextOptions TextWait = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToHaveCountOptions CountWait = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToBeVisibleOptions VisibleWait = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToBeHiddenOptions HiddenWait = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToBeAttachedOptions AttachedWait = new() { Timeout = 15_000 };
    private static readonly PageWaitForFunctionOptions FunctionWait = new() { Timeout = 15_000, PollingInterval = 100 };

    [Test]
    [CancelAfter(60_000)]
    public async Task Dashboard_WhileTrafficFlows_ShowsEachBackendsLiveState_ThenTheBannerOnceTheBalancerStops(CancellationToken cancel)
    {
        Assert.That(File.Exists(Chromium), Is.True, $"{Chromium} is missing: the dashboard test needs Debian's Chromium (apt-get install chromium)");

        // The test fails at the deadline even if a step inside ignores the token.
        await ShowLiveStateThenDisconnectAsync(cancel).WaitAsync(cancel);
    }

    private static async Task ShowLiveStateThenDisconnectAsync(CancellationToken cancel)
    {
        var dead = await TestBackend.StartAsync("s2");
        bool deadStopped = false;
        await using var s1 = await TestBackend.StartAsync("s1");
        await using var s3 = await TestBackend.StartAsync("s3");
        var balancer = await TestBalancer.StartAsync(
            [("s1", s1.Port), ("s2", dead.Port), ("s3", s3.Port)],
            c => c with { Health = c.Health with { Enabled = true, IntervalMs = 200, TimeoutMs = 500, Rise = 1, Fall = 1, MaxBackoffMs = 400 } });
        bool balancerStopped = false;
        using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var client = balancer.CreateClient();
        int sent = 0;
        var traffic = Task.Run(() => SendTrafficAsync(client, () => Interlocked.Increment(ref sent), stopTraffic.Token), CancellationToken.None);
        try
        {
            // Health checks reach the backends too: wait for the traffic itself to reach each one.
            await Eventually.Until(() => new[] { s1, dead, s3 }.All(b => b.Paths.Any(p => p.StartsWith("/items/", StringComparison.Ordinal))));
            await dead.DisposeAsync();
            deadStopped = true;

            using var playwright = await Playwright.CreateAsync().WaitAsync(cancel);
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"], Timeout = 30_000 });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            page.SetDefaultTimeout(15_000);
            var scriptErrors = new List<string>();
            page.PageError += (_, error) => scriptErrors.Add(error);

            await page.GotoAsync(balancer.AdminUrl.ToString());
            await page.WaitForSelectorAsync("body[data-ready=true]");

            var cards = page.Locator("#backends [data-backend]");
            await Expect(cards).ToHaveCountAsync(3, CountWait);
            await Expect(Card(page, "s2").Locator("[data-field=health]")).ToHaveTextAsync("unhealthy", TextWait);
            await Expect(Card(page, "s1").Locator("[data-field=health]")).ToHaveTextAsync("healthy", TextWait);
            await Expect(Card(page, "s3").Locator("[data-field=health]")).ToHaveTextAsync("healthy", TextWait);

            long before = ParseCount(await page.TextContentAsync("#total-requests"));
            await page.WaitForFunctionAsync("n => Number(document.getElementById('total-requests').textContent) > n", before, FunctionWait);
            long after = ParseCount(await page.TextContentAsync("#total-requests"));
            await page.WaitForFunctionAsync("() => parseFloat(document.querySelector('[data-backend=\"s1\"] [data-field=rate]').textContent) > 0", null, FunctionWait);
            await page.WaitForFunctionAsync("() => parseFloat(document.getElementById('total-rate').textContent) > 0", null, FunctionWait);
            foreach (string id in new[] { "s1", "s2", "s3" })
            {
                // The sparkline has a line once two polls have come in.
                await Expect(Card(page, id).Locator("svg[data-chart=spark] polyline")).ToBeAttachedAsync(AttachedWait);
            }

            await Expect(page.Locator("#disconnected")).ToBeHiddenAsync(HiddenWait);

            var ids = await cards.EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.backend)");
            var shares = await page.Locator("[data-backend] [data-field=share]").AllTextContentsAsync();
            var svgCounts = await cards.EvaluateAllAsync<int[]>("cards => cards.map(c => c.querySelectorAll('svg').length)");
            string s1Rate = await Card(page, "s1").Locator("[data-field=rate]").TextContentAsync() ?? "";
            string s1P99 = await Card(page, "s1").Locator("[data-field=p99]").TextContentAsync() ?? "";

            string screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "dashboard.png");
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            TestContext.AddTestAttachment(screenshot, "dashboard while traffic flows");

            Assert.Multiple(() =>
            {
                Assert.That(ids, Is.EqualTo(new[] { "s1", "s2", "s3" }), "one card per backend, in the server order");
                Assert.That(before, Is.GreaterThan(0), "total requests");
                Assert.That(after, Is.GreaterThan(before), "total requests grow while traffic flows");
                Assert.That(ParseNumber(s1Rate, " req/s"), Is.GreaterThan(0), "a live backend's rate");
                Assert.That(s1P99, Does.EndWith(" ms"), "a live backend's p99 latency");
                Assert.That(shares.Sum(s => ParseNumber(s, "%")), Is.EqualTo(100).Within(0.5), $"ring shares {string.Join(", ", shares)}");
                Assert.That(svgCounts, Has.All.GreaterThan(0), "each card draws svg charts");
                Assert.That(Volatile.Read(ref sent), Is.LessThan(MaxRequests), "traffic still flowing when the page was read");
            });

            await stopTraffic.CancelAsync();
            await traffic;
            await balancer.DisposeAsync();
            balancerStopped = true;
            await Expect(page.Locator("#disconnected")).ToBeVisibleAsync(VisibleWait);
            Assert.That(scriptErrors, Is.Empty, "the page threw no script error");
        }
        finally
        {
            await stopTraffic.CancelAsync();
            await traffic;
            if (!balancerStopped)
            {
                await balancer.DisposeAsync();
            }

            if (!deadStopped)
            {
                await dead.DisposeAsync();
            }
        }
    }

    /// <summary>Bounded, paced GETs over distinct paths until stopped or the cap is reached; failures are only counted as traffic.</summary>
    private static async Task SendTrafficAsync(HttpClient client, Func<int> next, CancellationToken stop)
    {
        int n;
        while (!stop.IsCancellationRequested && (n = next()) <= MaxRequests)
        {
            try
            {
                using var response = await client.GetAsync($"/items/{n}", stop);
                // Paced so the cap outlasts the test's deadline: the rate must not fall to zero
                // while the page is being read.
                await Task.Delay(5, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                // A request can meet the backend that was just stopped; the dashboard counts it.
            }
        }
    }

    private static ILocator Card(IPage page, string id) => page.Locator($"[data-backend=\"{id}\"]");

    private static long ParseCount(string? text) => long.Parse(text ?? "", NumberStyles.None, CultureInfo.InvariantCulture);

    private static double ParseNumber(string text, string unit) =>
        double.Parse(text.EndsWith(unit, StringComparison.Ordinal) ? text[..^unit.Length] : text, NumberStyles.Float, CultureInfo.InvariantCulture);
}
