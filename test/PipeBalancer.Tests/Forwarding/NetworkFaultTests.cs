using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

public sealed class NetworkFaultTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new SocketException((int)SocketError.ConnectionReset), (int)NetworkFaultKind.Reset).SetName("SocketReset_IsAReset");
        yield return new TestCaseData(new SocketException((int)SocketError.ConnectionRefused), (int)NetworkFaultKind.Refused).SetName("SocketRefused_IsRefused");
        yield return new TestCaseData(new SocketException((int)SocketError.TimedOut), (int)NetworkFaultKind.TimedOut).SetName("SocketTimedOut_IsATimeout");
        yield return new TestCaseData(new SocketException((int)SocketError.TooManyOpenSockets), (int)NetworkFaultKind.LocalLimit).SetName("TooManyOpenSockets_IsALocalLimit");
        yield return new TestCaseData(new IOException("broken", new SocketException((int)SocketError.ConnectionAborted)), (int)NetworkFaultKind.Aborted).SetName("IOExceptionWrappingASocketError_IsThatError");
        yield return new TestCaseData(new ConnectionResetException("reset"), (int)NetworkFaultKind.Reset).SetName("KestrelReset_IsAReset");
        yield return new TestCaseData(new ConnectionAbortedException("aborted"), (int)NetworkFaultKind.Aborted).SetName("KestrelAbort_IsAnAbort");
        yield return new TestCaseData(new InvalidOperationException("concurrent reads"), (int)NetworkFaultKind.None).SetName("InvalidOperation_IsTheBalancersOwnFault");
        yield return new TestCaseData(new ObjectDisposedException("pipe"), (int)NetworkFaultKind.None).SetName("ObjectDisposed_IsTheBalancersOwnFault");
        yield return new TestCaseData(new OperationCanceledException(), (int)NetworkFaultKind.None).SetName("OperationCanceled_IsNotANetworkFault");
    }

    [TestCaseSource(nameof(Cases))]
    public void Classify_ByType(Exception exception, int expected) =>
        Assert.That(NetworkFault.Classify(exception), Is.EqualTo((NetworkFaultKind)expected));
}
