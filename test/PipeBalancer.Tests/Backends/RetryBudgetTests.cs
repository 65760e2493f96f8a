using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Backends;

namespace PipeBalancer.Tests.Backends;

public sealed class RetryBudgetTests
{
    [Test]
    public void Retries_AreCappedAtTheShareOfRequests_WithAFloor()
    {
        var time = new FakeTimeProvider();
        var budget = new RetryBudget(percent: 20, windowSeconds: 10, minimum: 3, time);
        for (int i = 0; i < 100; i++)
        {
            budget.Request();
        }

        int granted = Enumerable.Range(0, 50).Count(_ => budget.TryRetry());
        Assert.That(granted, Is.EqualTo(20));
    }

    [Test]
    public void AQuietBalancer_StillGetsTheFloor()
    {
        var budget = new RetryBudget(20, 10, 3, new FakeTimeProvider());
        budget.Request();
        Assert.That(Enumerable.Range(0, 10).Count(_ => budget.TryRetry()), Is.EqualTo(3));
    }

    [Test]
    public void OldRequestsAndRetries_LeaveTheWindow()
    {
        var time = new FakeTimeProvider();
        var budget = new RetryBudget(20, 10, 0, time);
        for (int i = 0; i < 50; i++)
        {
            budget.Request();
        }

        Assert.That(Enumerable.Range(0, 20).Count(_ => budget.TryRetry()), Is.EqualTo(10));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.That(budget.TryRetry(), Is.False, "the requests that paid for retries have left the window");
        for (int i = 0; i < 10; i++)
        {
            budget.Request();
        }

        Assert.That(Enumerable.Range(0, 5).Count(_ => budget.TryRetry()), Is.EqualTo(2));
    }
}
