namespace PipeBalancer.Configuration;

/// <summary>How a listener treats its connections.</summary>
public enum ListenerMode
{
    /// <summary>HTTP/1.1 (L7): every request is routed on its own key.</summary>
    Http,

    /// <summary>TCP (L4): the connection is routed on the client address and spliced.</summary>
    Tcp,
}
