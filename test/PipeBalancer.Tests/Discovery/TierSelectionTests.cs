using PipeBalancer.Discovery;
using static PipeBalancer.Tests.Discovery.DiscoveryTestData;

namespace PipeBalancer.Tests.Discovery;

public sealed class TierSelectionTests
{
    private static readonly DiscoveredTarget[] Targets =
    [
        Srv("a", 80, priority: 10), Srv("b", 80, priority: 10), Srv("c", 80, priority: 20), Srv("d", 80, priority: 30),
    ];

    [Test]
    public void OnlyTheLowestPriorityValue_IsUsed_WhileOneOfItIsEligible()
    {
        var chosen = TierSelection.Choose(Targets, id => id != "a-80");
        Assert.That(chosen.Select(t => t.Host), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void TheNextPriority_Joins_WhenAllOfTheLowestIsIneligible()
    {
        var chosen = TierSelection.Choose(Targets, id => id is not ("a-80" or "b-80"));
        Assert.That(chosen.Select(t => t.Host), Is.EqualTo(new[] { "a", "b", "c" }));
    }

    [Test]
    public void NothingEligible_UsesEveryPriority()
    {
        var chosen = TierSelection.Choose(Targets, _ => false);
        Assert.Multiple(() =>
        {
            Assert.That(chosen, Has.Count.EqualTo(4));
            Assert.That(TierSelection.HasTiers(Targets), Is.True);
            Assert.That(TierSelection.HasTiers(Targets[..2]), Is.False);
        });
    }
}
