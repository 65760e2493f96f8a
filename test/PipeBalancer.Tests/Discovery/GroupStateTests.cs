using PipeBalancer.Discovery;
using static PipeBalancer.Tests.Discovery.DiscoveryTestData;

namespace PipeBalancer.Tests.Discovery;

public sealed class GroupStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public void FirstAnswer_SetsTheSet_AndIsCurrent()
    {
        var state = new GroupState();
        bool changed = state.Record(Answer(Srv("b", 80), Srv("a", 80)), allowEmpty: false, T0, out bool stateChanged);
        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.True);
            Assert.That(stateChanged, Is.True);
            Assert.That(state.Status, Is.EqualTo(GroupStatus.Current));
            Assert.That(state.Targets.Select(t => t.Host), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(state.Age(T0.AddSeconds(7)), Is.EqualTo(TimeSpan.FromSeconds(7)));
        });
    }

    [Test]
    public void SameRecordsInAnotherOrder_ChangeNothing()
    {
        var state = new GroupState();
        state.Record(Answer(Srv("a", 80), Srv("b", 81), Srv("c", 82)), false, T0, out _);
        bool changed = state.Record(Answer(Srv("c", 82), Srv("a", 80), Srv("b", 81)), false, T0.AddSeconds(30), out bool stateChanged);
        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.False);
            Assert.That(stateChanged, Is.False);
            Assert.That(state.LastSuccess, Is.EqualTo(T0.AddSeconds(30)), "a confirming answer renews the set's age");
        });
    }

    [TestCase("Timeout")]
    [TestCase("ServerFailure")]
    [TestCase("Refused")]
    [TestCase("NameError")]
    public void AFailedLookup_KeepsTheLastKnownGoodSet_AndMarksItStale(string failureName)
    {
        var failure = Enum.Parse<LookupFailure>(failureName);
        var state = new GroupState();
        state.Record(Answer(Srv("a", 80), Srv("b", 80)), false, T0, out _);
        bool changed = state.Record(LookupResult.Failed(failure, "x"), false, T0.AddSeconds(5), out bool stateChanged);
        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.False);
            Assert.That(stateChanged, Is.True);
            Assert.That(state.Status, Is.EqualTo(GroupStatus.Stale));
            Assert.That(state.Failure, Is.EqualTo(failure));
            Assert.That(state.Targets, Has.Count.EqualTo(2));
            Assert.That(state.FailingSince, Is.EqualTo(T0.AddSeconds(5)));
            Assert.That(state.Age(T0.AddSeconds(65)), Is.EqualTo(TimeSpan.FromSeconds(65)));
        });
    }

    [Test]
    public void RepeatedFailures_ChangeStateOnlyWhenTheKindChanges()
    {
        var state = new GroupState();
        state.Record(Answer(Srv("a", 80)), false, T0, out _);
        var changes = new List<bool>();
        foreach (var failure in new[] { LookupFailure.Timeout, LookupFailure.Timeout, LookupFailure.Timeout, LookupFailure.ServerFailure, LookupFailure.ServerFailure })
        {
            state.Record(LookupResult.Failed(failure, "x"), false, T0, out bool stateChanged);
            changes.Add(stateChanged);
        }

        state.Record(Answer(Srv("a", 80)), false, T0, out bool recovered);
        Assert.Multiple(() =>
        {
            Assert.That(changes, Is.EqualTo(new[] { true, false, false, true, false }));
            Assert.That(recovered, Is.True);
            Assert.That(state.Status, Is.EqualTo(GroupStatus.Current));
            Assert.That(state.FailingSince, Is.Null);
            Assert.That(state.Failures, Is.EqualTo(5));
        });
    }

    [Test]
    public void AnEmptyAnswer_KeepsTheSet_UnlessEmptyIsAllowed()
    {
        var kept = new GroupState();
        kept.Record(Answer(Srv("a", 80)), false, T0, out _);
        bool keptChanged = kept.Record(Answer(), allowEmpty: false, T0, out _);

        var emptied = new GroupState();
        emptied.Record(Answer(Srv("a", 80)), true, T0, out _);
        bool emptiedChanged = emptied.Record(Answer(), allowEmpty: true, T0, out _);
        Assert.Multiple(() =>
        {
            Assert.That(keptChanged, Is.False);
            Assert.That(kept.Targets, Has.Count.EqualTo(1));
            Assert.That(kept.Failure, Is.EqualTo(LookupFailure.NoRecords));
            Assert.That(kept.Status, Is.EqualTo(GroupStatus.Stale));
            Assert.That(emptiedChanged, Is.True);
            Assert.That(emptied.Targets, Is.Empty);
            Assert.That(emptied.Status, Is.EqualTo(GroupStatus.Current));
        });
    }

    [Test]
    public void FailuresBeforeAnyAnswer_StayPending_WithNoAge()
    {
        var state = new GroupState();
        state.Record(LookupResult.Failed(LookupFailure.Timeout, "x"), false, T0, out bool stateChanged);
        Assert.Multiple(() =>
        {
            Assert.That(stateChanged, Is.True);
            Assert.That(state.Status, Is.EqualTo(GroupStatus.Pending));
            Assert.That(state.Targets, Is.Empty);
            Assert.That(state.Age(T0), Is.Null);
        });
    }
}
