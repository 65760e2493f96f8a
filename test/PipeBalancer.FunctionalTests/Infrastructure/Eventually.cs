namespace PipeBalancer.FunctionalTests.Infrastructure;

/// <summary>Waits for something another thread makes true (health loops, pool returns), failing the test if it does not happen in time.</summary>
public static class Eventually
{
    public static async Task Until(Func<bool> condition, int seconds = 10)
    {
        for (int waited = 0; waited < seconds * 1000 && !condition(); waited += 25)
        {
            await Task.Delay(25);
        }

        Assert.That(condition(), Is.True, $"condition not reached within {seconds} s");
    }
}
