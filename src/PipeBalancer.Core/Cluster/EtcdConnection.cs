using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using PipeBalancer.Configuration;

namespace PipeBalancer.Cluster;

/// <summary>
/// The balancer's link to etcd: one gRPC channel per endpoint of <c>cluster.endpoints</c>, the
/// one that answered last tried first. A call that fails on an endpoint (refused, reset, timed
/// out, or answered "no leader") is tried on the next; when none carries it out the caller
/// gets <see cref="EtcdUnavailableException"/> with each endpoint's reason. With
/// <c>cluster.username</c> the balancer authenticates first and again when etcd says the token
/// expired.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly string[] _endpoints;
    private readonly ClusterConfig _config;
    private readonly SemaphoreSlim _authLock = new(1, 1);
    private volatile string? _token;
    private int _current;

    public EtcdConnection(ClusterConfig config)
    {
        _config = config;
        _endpoints = [.. config.Endpoints];
        var clientCertificates = LoadClientCertificate(config.Tls);
        var authority = config.Tls?.CaCertificate is { } ca ? X509CertificateLoader.LoadCertificateFromFile(ca) : null;
        _channels = [.. _endpoints.Select(endpoint => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(config, clientCertificates, authority),
            DisposeHttpClient = true,

            // gRPC waits up to 120 s between attempts to reach a member that was down; the
            // balancer wants to see etcd back within a couple of seconds.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromSeconds(2),
        }))];
    }

    /// <summary>The endpoint tried first: the one that answered last.</summary>
    public string Endpoint => _endpoints[Volatile.Read(ref _current)];

    /// <summary>Makes the next call start at the following endpoint (after a stream on this one broke).</summary>
    public void MoveOn()
    {
        int current = Volatile.Read(ref _current);
        Interlocked.CompareExchange(ref _current, (current + 1) % _endpoints.Length, current);
    }

    /// <summary>Runs a unary call on each endpoint in turn until one carries it out, each within <c>cluster.requestTimeoutMs</c>.</summary>
    public async Task<T> CallAsync<T>(Func<CallInvoker, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        int start = Volatile.Read(ref _current);
        for (int attempt = 0; attempt < _endpoints.Length; attempt++)
        {
            int index = (start + attempt) % _endpoints.Length;
            for (int authAttempt = 0; ; authAttempt++)
            {
                try
                {
                    var options = await OptionsAsync(index, cancellationToken).ConfigureAwait(false);
                    var result = await call(_channels[index].CreateCallInvoker(), options).ConfigureAwait(false);
                    Volatile.Write(ref _current, index);
                    return result;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && _config.Username is not null && authAttempt == 0)
                {
                    // The token expired (etcd's simple tokens last 5 minutes by default): once more with a new one.
                    _token = null;
                }
                catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
                {
                    failures.Add($"{_endpoints[index]}: {Describe(e)}");
                    break;
                }
            }
        }

        throw new EtcdUnavailableException("no etcd endpoint answered (" + string.Join("; ", failures) + ")");
    }

    /// <summary>Opens a watch stream on the current endpoint; it lives until <paramref name="cancellationToken"/> or a failure.</summary>
    public async Task<AsyncDuplexStreamingCall<WatchRequest, WatchResponse>> OpenWatchAsync(CancellationToken cancellationToken)
    {
        int index = Volatile.Read(ref _current);
        var headers = await HeadersAsync(index, cancellationToken).ConfigureAwait(false);

        // "hasleader": etcd closes the stream when its member loses the leader, instead of
        // leaving a watch that silently receives nothing (etcd's WithRequireLeader).
        headers.Add("hasleader", "true");
        return new Watch.WatchClient(_channels[index].CreateCallInvoker()).Watch(headers, cancellationToken: cancellationToken);
    }

    /// <summary>Opens a lease keep-alive stream on the current endpoint.</summary>
    public async Task<AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>> OpenKeepAliveAsync(CancellationToken cancellationToken)
    {
        int index = Volatile.Read(ref _current);
        var headers = await HeadersAsync(index, cancellationToken).ConfigureAwait(false);
        return new Lease.LeaseClient(_channels[index].CreateCallInvoker()).LeaseKeepAlive(headers, cancellationToken: cancellationToken);
    }

    /// <summary>Says what went wrong in a user's words: etcd's own detail, else the gRPC status.</summary>
    public static string Describe(RpcException e) =>
        e.Status.DebugException is { } inner && e.StatusCode == StatusCode.Unavailable
            ? $"{e.Status.Detail} ({inner.Message})"
            : $"{e.StatusCode}: {e.Status.Detail}";

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _authLock.Dispose();
    }

    private async Task<CallOptions> OptionsAsync(int index, CancellationToken cancellationToken) =>
        new(await HeadersAsync(index, cancellationToken).ConfigureAwait(false), DateTime.UtcNow.AddMilliseconds(_config.RequestTimeoutMs), cancellationToken);

    private async Task<Metadata> HeadersAsync(int index, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        if (_config.Username is not null)
        {
            headers.Add("token", _token ?? await AuthenticateAsync(index, cancellationToken).ConfigureAwait(false));
        }

        return headers;
    }

    private async Task<string> AuthenticateAsync(int index, CancellationToken cancellationToken)
    {
        await _authLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } token)
            {
                return token;
            }

            var response = await new Auth.AuthClient(_channels[index].CreateCallInvoker()).AuthenticateAsync(
                new AuthenticateRequest { Name = _config.Username, Password = _config.Password },
                deadline: DateTime.UtcNow.AddMilliseconds(_config.RequestTimeoutMs), cancellationToken: cancellationToken).ConfigureAwait(false);
            _token = response.Token;
            return response.Token;
        }
        finally
        {
            _authLock.Release();
        }
    }

    private static SocketsHttpHandler CreateHandler(ClusterConfig config, X509CertificateCollection? clientCertificates, X509Certificate2? authority)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(config.RequestTimeoutMs),

            // An idle watch on a member that vanished without a reset (a cut cable) is found by
            // HTTP/2 pings instead of waiting for TCP's own timeouts.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
        };
        if (clientCertificates is not null || authority is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificates,
                RemoteCertificateValidationCallback = authority is null ? null : (_, certificate, _, errors) => TrustedBy(authority, certificate, errors),
            };
        }

        return handler;
    }

    // etcd's certificate must chain to cluster.tls.caCertificate alone (not the system store),
    // and name the host dialled.
    private static bool TrustedBy(X509Certificate2 authority, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private static X509CertificateCollection? LoadClientCertificate(ClusterTlsConfig? tls) =>
        tls is { Certificate: { } certificate, Key: { } key }
            ? [X509Certificate2.CreateFromPemFile(certificate, key)]
            : null;
}
