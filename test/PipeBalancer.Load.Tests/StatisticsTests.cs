using PipeBalancer.Load;

namespace PipeBalancer.Load.Tests;

public sealed class StatisticsTests
{
    [Test]
    public void Median_OfOddCount_IsTheMiddleValue() =>
        Assert.That(Statistics.Median([5, 1, 9]), Is.EqualTo(5));

    [Test]
    public void Median_OfEvenCount_IsTheMeanOfTheMiddleTwo() =>
        Assert.That(Statistics.Median([4, 1, 3, 100]), Is.EqualTo(3.5));

    [Test]
    public void Median_OfNothing_IsNull() =>
        Assert.That(Statistics.Median([]), Is.Null);

    [Test]
    public void MedianRatio_IsTheMedianOfPerPairRatios_NotTheRatioOfMedians()
    {
        // Per pair: 0.5, 1.0, 2.0 -> 1.0. The ratio of the medians would be 20 / 20 = 1 too, so
        // pick values where they differ: per pair 0.5, 0.9, 3.0 -> 0.9; medians 30 / 40 = 0.75.
        (double?, double?)[] pairs = [(10, 20), (36, 40), (30, 10)];

        Assert.That(Statistics.MedianRatio(pairs), Is.EqualTo(0.9).Within(1e-12));
    }

    [Test]
    public void MedianRatio_SkipsPairsWithAMissingRunOrZeroDenominator()
    {
        (double?, double?)[] pairs = [(10, null), (null, 5), (3, 0), (8, 4)];

        Assert.That(Statistics.MedianRatio(pairs), Is.EqualTo(2));
    }
}
