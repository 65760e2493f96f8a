using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

public sealed class WithoutContextTests
{
    private static readonly AsyncLocal<string?> Marker = new();

    [Test]
    public async Task Start_RunsTheWorkWithoutTheCallersContext_AndRestoresFlowAfterwards()
    {
        Marker.Value = "caller";
        var seen = new TaskCompletionSource<string?>();
        var task = WithoutContext.Start(static async seen =>
        {
            await Task.Yield();
            seen.SetResult(Marker.Value);
        }, seen);

        bool suppressedAfter = ExecutionContext.IsFlowSuppressed();
        await task;
        string? inside = await seen.Task;
        Assert.Multiple(() =>
        {
            Assert.That(inside, Is.Null, "the async local did not flow into the work");
            Assert.That(suppressedAfter, Is.False, "flow is restored for the caller");
            Assert.That(Marker.Value, Is.EqualTo("caller"));
        });
    }

    [Test]
    public async Task Start_WhenFlowIsAlreadySuppressed_StillStarts()
    {
        Task task;
        using (ExecutionContext.SuppressFlow())
        {
            task = WithoutContext.Start(static _ => Task.Delay(1), 0);
        }

        await task;
        Assert.That(task.IsCompletedSuccessfully, Is.True);
    }
}
