namespace PipeBalancer.Load;

/// <summary>A proxy's three listeners.</summary>
internal sealed record FrontPorts(int Http, int Https, int Tcp)
{
    public int For(Listener listener) => listener switch
    {
        Listener.Http => Http,
        Listener.Https => Https,
        _ => Tcp,
    };
}
