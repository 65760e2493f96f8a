namespace PipeBalancer.Load;

/// <summary>What holding many idle keep-alive clients cost a proxy.</summary>
/// <param name="Connected">clients that got their response and stayed connected</param>
/// <param name="Failed">clients that could not connect or got no 2xx/3xx response</param>
/// <param name="FirstError">the first failure, to say what went wrong</param>
/// <param name="RssBeforeKb">resident memory before the clients connected</param>
/// <param name="RssWithKb">resident memory with them connected and idle</param>
/// <param name="CpuPercent">CPU used while they were idle, in % of one core</param>
internal sealed record IdleResult(int Connected, int Failed, string? FirstError, long RssBeforeKb, long RssWithKb, double CpuPercent)
{
    /// <summary>(RSS with them - RSS before) / clients asked for.</summary>
    public double KbPerConnection(int clients) => (RssWithKb - RssBeforeKb) / (double)clients;
}
