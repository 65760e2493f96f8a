using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class MaglevTableTests
{
    [TestCase(3, 65537)]
    [TestCase(655, 65537)]
    [TestCase(656, 65609)]
    [TestCase(1000, 100003)]
    public void EffectiveSize_IsAPrimeOfAtLeastOneHundredSlotsPerServer(int servers, int expected)
    {
        int size = MaglevTable.EffectiveSize(65537, servers);
        Assert.Multiple(() =>
        {
            Assert.That(size, Is.EqualTo(expected));
            Assert.That(Primes.IsPrime(size), Is.True);
            Assert.That(size, Is.GreaterThanOrEqualTo(servers * 100));
        });
    }

    [Test]
    public void Build_FillsEverySlot_WithNearlyEqualShares()
    {
        var table = MaglevTable.Build(TestBackends.Make(7), HashFunction.XxHash3, 65537);
        var counts = new int[7];
        foreach (ushort s in table.Table)
        {
            counts[s]++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(table.Size, Is.EqualTo(65537));
            Assert.That(counts.Sum(), Is.EqualTo(65537));
            Assert.That(counts.Max() - counts.Min(), Is.LessThanOrEqualTo(1), "turn-taking fills to within one slot");
        });
    }

    [Test]
    public void Slot_CoversTheWholeTable()
    {
        var table = MaglevTable.Build(TestBackends.Make(2), HashFunction.XxHash3, 211);
        Assert.Multiple(() =>
        {
            Assert.That(table.Size, Is.EqualTo(211));
            Assert.That(table.Slot(0), Is.Zero);
            Assert.That(table.Slot(uint.MaxValue), Is.EqualTo(210));
        });
    }

    [TestCase(2, false)]
    [TestCase(65537, true)]
    [TestCase(65535, false)]
    [TestCase(1_000_003, true)]
    public void Primes_IsPrime(int value, bool prime) =>
        Assert.That(Primes.IsPrime(value), Is.EqualTo(value == 2 || prime));
}
