using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Runtime;

public sealed class PerCoreStackTests
{
    [Test]
    public void TryPop_GivesTheItemPushedLast_First()
    {
        var stack = new PerCoreStack<string>(capacity: 8, stripes: 1);
        stack.TryPush("first");
        stack.TryPush("second");
        stack.TryPush("third");

        var popped = new List<string>();
        while (stack.TryPop(out var item))
        {
            popped.Add(item);
        }

        Assert.That(popped, Is.EqualTo(new[] { "third", "second", "first" }));
        Assert.That(stack.Count, Is.Zero);
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(8)]
    public void TryPush_HoldsExactlyTheCapacity_HoweverManyStripes(int stripes)
    {
        var stack = new PerCoreStack<object>(capacity: 5, stripes);

        var kept = Enumerable.Range(0, 9).Count(_ => stack.TryPush(new object()));

        Assert.That(kept, Is.EqualTo(5));
        Assert.That(stack.Count, Is.EqualTo(5));
    }

    [Test]
    public void TryPop_TakesFromOtherStripes_WhenItsOwnIsEmpty()
    {
        // Four stripes of one: whichever processor pushes and pops, every item is reached.
        var stack = new PerCoreStack<object>(capacity: 4, stripes: 4);
        var items = Enumerable.Range(0, 4).Select(_ => new object()).ToList();
        items.ForEach(i => Assert.That(stack.TryPush(i), Is.True));

        var popped = new List<object>();
        while (stack.TryPop(out var item))
        {
            popped.Add(item);
        }

        Assert.That(popped, Is.EquivalentTo(items));
    }

    [Test]
    public void ZeroCapacity_KeepsNothing()
    {
        var stack = new PerCoreStack<object>(capacity: 0);

        Assert.That(stack.TryPush(new object()), Is.False);
        Assert.That(stack.TryPop(out _), Is.False);
    }

    [Test]
    public async Task ConcurrentPushesAndPops_LoseAndDuplicateNothing()
    {
        var stack = new PerCoreStack<object>(capacity: 64);
        var items = Enumerable.Range(0, 64).Select(_ => new object()).ToList();
        items.ForEach(i => stack.TryPush(i));

        // Four threads each take an item and give it back, many times over.
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                if (stack.TryPop(out var item))
                {
                    Assert.That(stack.TryPush(item), Is.True);
                }
            }
        }));
        await Task.WhenAll(workers);

        var left = new List<object>();
        while (stack.TryPop(out var item))
        {
            left.Add(item);
        }

        Assert.That(left, Is.EquivalentTo(items), "each item once, none lost");
    }
}
