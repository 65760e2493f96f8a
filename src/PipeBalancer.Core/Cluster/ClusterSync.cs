using System.Buffers;
using System.Text;
using System.Text.Json;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using PipeBalancer.Configuration;
using PipeBalancer.Runtime;

namespace PipeBalancer.Cluster;

/// <summary>
/// Keeps this balancer's backends equal to the ones shared under <c>cluster.prefix</c> in etcd.
/// The backends live in one key (<c>PREFIX/backends</c>), so every revision of it is a whole,
/// consistent set: an instance applies the newest it has seen through the snapshot swap and
/// never a mix. Admin changes are written with a compare on that key's mod revision (a change
/// built on a set another instance has replaced meanwhile is built again on the new one), and
/// answered once committed and applied here. Each instance registers under
/// <c>PREFIX/instances/NAME</c> with a lease and says there which revision it has applied.
/// When etcd cannot be reached the balancer keeps routing on what it applied last, refuses
/// changes, and catches up when etcd is back: from the last revision it saw, or by reading
/// everything when that revision was compacted.
/// </summary>
internal sealed class ClusterSync : IAsyncDisposable
{
    // Changes built again after losing the compare to another instance's, before giving up:
    // each round one contender wins, so this many changes made at once all get through.
    private const int MaxEditAttempts = 64;

    private readonly ProxyState _state;
    private readonly ClusterConfig _config;
    private readonly EtcdConnection _etcd;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ByteString _prefix;
    private readonly ByteString _prefixEnd;
    private readonly ByteString _backendsKey;
    private readonly string _instancesPrefix;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _registrationDue = new(0, 1);
    private readonly Dictionary<string, ClusterMember> _members = new(StringComparer.Ordinal);
    private Task _watchLoop = Task.CompletedTask;
    private Task _registrationLoop = Task.CompletedTask;
    private string _name = "";
    private string _admin = "";
    private long _appliedRevision;
    private long _keyModRevision;
    private long _nextWatchRevision;
    private bool _needFullRead = true;
    private DateTimeOffset? _staleSince;
    private string? _staleReason;
    private long _leaseId;

    public ClusterSync(ProxyState state, ClusterConfig config, ILogger logger, TimeProvider? time = null)
    {
        _state = state;
        _config = config;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _etcd = new EtcdConnection(config);
        _prefix = ByteString.CopyFromUtf8(config.Prefix);
        _prefixEnd = PrefixEnd(config.Prefix);
        _backendsKey = ByteString.CopyFromUtf8(config.Prefix + "backends");
        _instancesPrefix = config.Prefix + "instances/";

        // Not known until etcd has answered: stale from the start.
        _staleSince = _time.GetUtcNow();
        _staleReason = "etcd not reached yet";
    }

    /// <summary>Raised (on the applying thread) after a revision of the shared backends was applied here.</summary>
    public event Action<long>? Applied;

    /// <summary>This instance's name among the members.</summary>
    public string Name => _name;

    /// <summary>The key prefix.</summary>
    public string Prefix => _config.Prefix;

    /// <summary>The etcd endpoint tried first.</summary>
    public string Endpoint => _etcd.Endpoint;

    /// <summary>The mod revision of the shared backends key this instance routes on (0: none applied yet).</summary>
    public long AppliedRevision
    {
        get
        {
            lock (_gate)
            {
                return _appliedRevision;
            }
        }
    }

    /// <summary>Since when etcd has been unreachable (the shared state may be stale), or null while it is reachable.</summary>
    public DateTimeOffset? StaleSince
    {
        get
        {
            lock (_gate)
            {
                return _staleSince;
            }
        }
    }

    /// <summary>Why etcd is unreachable, or null.</summary>
    public string? StaleReason
    {
        get
        {
            lock (_gate)
            {
                return _staleReason;
            }
        }
    }

    /// <summary>Every registered instance as last seen (this one from its own state), by name.</summary>
    public IReadOnlyList<ClusterMember> Members
    {
        get
        {
            lock (_gate)
            {
                var self = new ClusterMember(_name, _admin, _appliedRevision, _staleSince is not null);
                return [.. _members.Values.Where(m => m.Name != _name).Append(self).OrderBy(m => m.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>
    /// Reads the shared state (or writes the file's backends when the prefix is empty) and
    /// applies it, then starts watching and registers this instance. When etcd cannot be
    /// reached the balancer starts on the file's backends, stale, and keeps trying.
    /// </summary>
    /// <param name="adminUrl">This instance's admin API, for the others to see.</param>
    /// <param name="defaultName">The name when <c>cluster.name</c> gives none.</param>
    public async Task StartAsync(string adminUrl, string defaultName)
    {
        _name = _config.Name ?? defaultName;
        _admin = adminUrl;
        try
        {
            await ReadAllAsync(_stop.Token).ConfigureAwait(false);
            lock (_gate)
            {
                _staleSince = null;
                _staleReason = null;
            }

            ClusterLog.Joined(_logger, _name, _config.Prefix, _etcd.Endpoint, AppliedRevision);
        }
        catch (EtcdUnavailableException e)
        {
            MarkStale(e.Message);
        }

        _watchLoop = Task.Run(WatchLoopAsync);
        _registrationLoop = Task.Run(RegistrationLoopAsync);
    }

    /// <summary>
    /// Makes an admin change through etcd: <paramref name="edit"/> is built on the backends in
    /// force and written with a compare on the revision they came from; when another instance
    /// wrote first, the newer set is applied and the edit built again on it. Returns once the
    /// change is committed and applied here.
    /// </summary>
    /// <exception cref="EtcdUnavailableException">etcd cannot be reached (or is cut off); nothing was changed, or (a timeout after sending) it is unknown whether it was.</exception>
    public async Task<ClusterEdit> EditAsync(Func<BalancerConfig, ConfigResult> edit, string change, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < MaxEditAttempts; attempt++)
        {
            BalancerConfig current;
            long basedOn;
            lock (_gate)
            {
                if (_staleSince is { } since)
                {
                    throw new EtcdUnavailableException($"etcd has been unreachable since {since:u} ({_staleReason}); the shared backends cannot be changed now. Routing goes on with revision {_appliedRevision}");
                }

                current = _state.Current.Config;
                basedOn = _keyModRevision;
            }

            var result = edit(current);
            if (result.Config is not { } edited || Listed(edited.Backends).SequenceEqual(Listed(current.Backends)))
            {
                // Refused, or a change that changes nothing: nothing to write.
                return new ClusterEdit(result, _state.Current);
            }

            byte[] value = SharedBackends.Write(Listed(edited.Backends));
            var request = new TxnRequest();
            request.Compare.Add(new Compare { Key = _backendsKey, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = basedOn });
            request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _backendsKey, Value = ByteString.CopyFrom(value) } });
            request.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = _backendsKey } });
            var response = await TxnAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.Succeeded)
            {
                long revision = response.Header.Revision;
                ClusterLog.Committed(_logger, change, revision);
                var applied = ApplyShared(revision, value);
                return new ClusterEdit(result, applied);
            }

            // Another instance changed the set first: apply it, then build the edit again on it,
            // after a short random pause so that the contenders do not collide again in step.
            var kvs = response.Responses[0].ResponseRange.Kvs;
            if (kvs.Count == 0)
            {
                ApplyDeleted(response.Header.Revision);
            }
            else
            {
                ApplyShared(kvs[0].ModRevision, kvs[0].Value.Memory);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 + Math.Min(attempt, 10) * 5)), _time, cancellationToken).ConfigureAwait(false);
        }

        throw new EtcdUnavailableException($"the change lost the race to other instances' changes {MaxEditAttempts} times in a row; try again");
    }

    /// <summary>
    /// A file reload with a cluster section: every section of the file is applied, but the
    /// backends stay the shared ones (the file's seed an empty prefix only). Returns whether
    /// the file's backends differed and were left out.
    /// </summary>
    public bool ApplyFile(BalancerConfig file)
    {
        lock (_gate)
        {
            if (_keyModRevision == 0 && _appliedRevision == 0)
            {
                // Nothing shared yet (etcd not reached since start): the file's backends are in force.
                _state.Apply(file, runtimeEdit: false);
                return false;
            }

            var shared = Listed(_state.Current.Config.Backends);
            _state.Apply(file with { Backends = shared }, runtimeEdit: true);
            bool differ = !file.Backends.SequenceEqual(shared);
            if (differ)
            {
                ClusterLog.FileBackendsIgnored(_logger);
            }

            return differ;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_watchLoop, _registrationLoop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Leave the list at once rather than when the lease runs out.
        long lease = Interlocked.Read(ref _leaseId);
        if (lease != 0)
        {
            try
            {
                await _etcd.CallAsync((invoker, options) => new Lease.LeaseClient(invoker).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, options).ResponseAsync, CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (EtcdUnavailableException)
            {
                // The lease runs out by itself.
            }
        }

        _etcd.Dispose();
        _stop.Dispose();
        _registrationDue.Dispose();
    }

    // The whole prefix in one read: the backends (written from the file when absent) and the members.
    private async Task ReadAllAsync(CancellationToken cancellationToken)
    {
        var range = await _etcd.CallAsync((invoker, options) => new KV.KVClient(invoker).RangeAsync(new RangeRequest { Key = _prefix, RangeEnd = _prefixEnd }, options).ResponseAsync,
            cancellationToken).ConfigureAwait(false);
        long revision = range.Header.Revision;
        bool backendsFound = false;
        lock (_gate)
        {
            _members.Clear();
        }

        foreach (var kv in range.Kvs)
        {
            if (kv.Key == _backendsKey)
            {
                backendsFound = true;
                ApplyShared(kv.ModRevision, kv.Value.Memory);
            }
            else
            {
                ApplyMember(kv.Key.ToStringUtf8(), kv.Value.Memory);
            }
        }

        if (!backendsFound)
        {
            await SeedAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            _nextWatchRevision = revision + 1;
            _needFullRead = false;
        }
    }

    // The prefix holds no backends: this instance's (from its file) become the shared ones,
    // unless another instance wrote them first.
    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        var backends = Listed(_state.Current.Config.Backends);
        byte[] value = SharedBackends.Write(backends);
        var request = new TxnRequest();
        request.Compare.Add(new Compare { Key = _backendsKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _backendsKey, Value = ByteString.CopyFrom(value) } });
        request.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = _backendsKey } });
        var response = await TxnAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Succeeded)
        {
            ClusterLog.Seeded(_logger, _config.Prefix, backends.Count, response.Header.Revision);
            ApplyShared(response.Header.Revision, value);
        }
        else if (response.Responses[0].ResponseRange.Kvs is { Count: > 0 } kvs)
        {
            ApplyShared(kvs[0].ModRevision, kvs[0].Value.Memory);
        }
    }

    private Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken) =>
        _etcd.CallAsync((invoker, options) => new KV.KVClient(invoker).TxnAsync(request, options).ResponseAsync, cancellationToken);

    // Applies the backends of one revision of the key, unless a newer one is in force already.
    // Every revision holds the whole set, so skipping older ones loses nothing.
    private ProxySnapshot ApplyShared(long modRevision, ReadOnlyMemory<byte> value)
    {
        ProxySnapshot snapshot;
        lock (_gate)
        {
            if (modRevision <= _appliedRevision)
            {
                return _state.Current;
            }

            var current = _state.Current.Config;
            var result = SharedBackends.Read(current, value);
            _appliedRevision = modRevision;
            _keyModRevision = modRevision;
            if (result.Config is not { } shared)
            {
                ClusterLog.Refused(_logger, modRevision, string.Join("; ", result.Errors));
                return _state.Current;
            }

            snapshot = shared.Backends.SequenceEqual(Listed(current.Backends))
                ? _state.Current
                : _state.Apply(current with { Backends = shared.Backends }, runtimeEdit: true);
            ClusterLog.Applied(_logger, modRevision, shared.Backends.Count, snapshot.Generation);
        }

        SignalRegistration();
        Applied?.Invoke(modRevision);
        return snapshot;
    }

    private void ApplyDeleted(long revision)
    {
        lock (_gate)
        {
            if (revision <= _appliedRevision)
            {
                return;
            }

            _appliedRevision = revision;
            _keyModRevision = 0;
        }

        ClusterLog.Deleted(_logger, revision);
    }

    private void ApplyMember(string key, ReadOnlyMemory<byte>? value)
    {
        if (!key.StartsWith(_instancesPrefix, StringComparison.Ordinal))
        {
            return;
        }

        string name = key[_instancesPrefix.Length..];
        ClusterMember? member = null;
        if (value is { } json)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                var root = document.RootElement;
                member = new ClusterMember(
                    root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : name,
                    root.TryGetProperty("admin", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "",
                    root.TryGetProperty("appliedRevision", out var r) && r.TryGetInt64(out long revision) ? revision : 0,
                    root.TryGetProperty("stale", out var s) && s.ValueKind == JsonValueKind.True);
            }
            catch (JsonException)
            {
                member = new ClusterMember(name, "", 0, Stale: false);
            }
        }

        lock (_gate)
        {
            if (member is null)
            {
                _members.Remove(name);
            }
            else
            {
                _members[name] = member;
            }
        }
    }

    private void MarkStale(string reason)
    {
        lock (_gate)
        {
            _staleReason = reason;
            if (_staleSince is not null)
            {
                return;
            }

            _staleSince = _time.GetUtcNow();
        }

        ClusterLog.Stale(_logger, AppliedRevision, reason);
    }

    private void MarkFresh()
    {
        DateTimeOffset since;
        long revision;
        lock (_gate)
        {
            if (_staleSince is not { } stale)
            {
                return;
            }

            since = stale;
            revision = _nextWatchRevision;
            _staleSince = null;
            _staleReason = null;
        }

        double seconds = (_time.GetUtcNow() - since).TotalSeconds;
        ClusterLog.Reconnected(_logger, _etcd.Endpoint, seconds, revision);

        SignalRegistration();
    }

    // Watches the prefix from the revision after the last one seen; any failure marks the state
    // stale, moves to the next endpoint and starts again after a short wait.
    private async Task WatchLoopAsync()
    {
        var token = _stop.Token;
        var delay = TimeSpan.FromMilliseconds(100);
        while (!token.IsCancellationRequested)
        {
            try
            {
                await WatchOnceAsync(token).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception e) when (token.IsCancellationRequested && e is OperationCanceledException or RpcException or IOException)
            {
                // Stopping: the stream ends as cancelled.
                return;
            }
            catch (EtcdUnavailableException e)
            {
                MarkStale(e.Message);
                _etcd.MoveOn();
            }
            catch (RpcException e) when (!token.IsCancellationRequested)
            {
                MarkStale($"{_etcd.Endpoint}: {EtcdConnection.Describe(e)}");
                _etcd.MoveOn();
            }
            catch (IOException e) when (!token.IsCancellationRequested)
            {
                // A stream cut while writing to it (the member went away).
                MarkStale($"{_etcd.Endpoint}: {e.Message}");
                _etcd.MoveOn();
            }
            catch (Exception e) when (!token.IsCancellationRequested && e is not OutOfMemoryException)
            {
                ClusterLog.LoopFailed(_logger, e, "watch");
                MarkStale(e.Message);
            }

            try
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
        }
    }

    private async Task WatchOnceAsync(CancellationToken token)
    {
        bool fullRead;
        lock (_gate)
        {
            fullRead = _needFullRead;
        }

        if (fullRead)
        {
            await ReadAllAsync(token).ConfigureAwait(false);
        }

        using var call = await _etcd.OpenWatchAsync(token).ConfigureAwait(false);
        long start;
        lock (_gate)
        {
            start = _nextWatchRevision;
        }

        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = _prefix, RangeEnd = _prefixEnd, StartRevision = start },
        }, token).ConfigureAwait(false);
        while (await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            if (response.CompactRevision != 0)
            {
                // The revision to resume from is gone: read everything again.
                ClusterLog.Compacted(_logger, start);
                lock (_gate)
                {
                    _needFullRead = true;
                }

                return;
            }

            if (response.Canceled)
            {
                throw new EtcdUnavailableException($"{_etcd.Endpoint} ended the watch: {response.CancelReason}");
            }

            if (response.Created)
            {
                MarkFresh();
            }

            foreach (var change in response.Events)
            {
                var kv = change.Kv;
                bool deleted = change.Type == Mvccpb.Event.Types.EventType.Delete;
                if (kv.Key == _backendsKey)
                {
                    if (deleted)
                    {
                        ApplyDeleted(kv.ModRevision);
                    }
                    else
                    {
                        ApplyShared(kv.ModRevision, kv.Value.Memory);
                    }
                }
                else
                {
                    ApplyMember(kv.Key.ToStringUtf8(), deleted ? null : kv.Value.Memory);
                }
            }

            if (response.Header is { Revision: > 0 } header)
            {
                lock (_gate)
                {
                    _nextWatchRevision = Math.Max(_nextWatchRevision, header.Revision + 1);
                }
            }
        }

        throw new EtcdUnavailableException($"{_etcd.Endpoint} closed the watch stream");
    }

    // Registers this instance under a lease, keeps the lease alive, and writes the registration
    // again whenever the applied revision or the reachability changes.
    private async Task RegistrationLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await RegisterAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (token.IsCancellationRequested && e is OperationCanceledException or RpcException or IOException)
            {
                // Stopping: the stream ends as cancelled.
                return;
            }
            catch (EtcdUnavailableException e)
            {
                ClusterLog.RegistrationFailed(_logger, e.Message);
            }
            catch (RpcException e) when (!token.IsCancellationRequested)
            {
                string reason = EtcdConnection.Describe(e);
                ClusterLog.RegistrationFailed(_logger, reason);
            }
            catch (IOException e) when (!token.IsCancellationRequested)
            {
                ClusterLog.RegistrationFailed(_logger, e.Message);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                ClusterLog.RegistrationFailed(_logger, "etcd did not answer the lease keep-alive in time");
            }
            catch (Exception e) when (!token.IsCancellationRequested && e is not OutOfMemoryException)
            {
                ClusterLog.LoopFailed(_logger, e, "registration");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RegisterAsync(CancellationToken token)
    {
        var grant = await _etcd.CallAsync((invoker, options) => new Lease.LeaseClient(invoker).LeaseGrantAsync(new LeaseGrantRequest { TTL = _config.LeaseTtlSeconds }, options).ResponseAsync,
            token).ConfigureAwait(false);
        long lease = grant.ID;
        Interlocked.Exchange(ref _leaseId, lease);
        await PutRegistrationAsync(lease, token).ConfigureAwait(false);
        using var keepAlive = await _etcd.OpenKeepAliveAsync(token).ConfigureAwait(false);
        var period = TimeSpan.FromSeconds(_config.LeaseTtlSeconds / 3.0);
        long due = _time.GetTimestamp();
        while (!token.IsCancellationRequested)
        {
            var wait = period - _time.GetElapsedTime(due);
            if (wait > TimeSpan.Zero && await _registrationDue.WaitAsync(wait, token).ConfigureAwait(false))
            {
                await PutRegistrationAsync(lease, token).ConfigureAwait(false);
                continue;
            }

            due = _time.GetTimestamp();
            await keepAlive.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, token).ConfigureAwait(false);
            using var answered = CancellationTokenSource.CreateLinkedTokenSource(token);
            answered.CancelAfter(TimeSpan.FromMilliseconds(_config.RequestTimeoutMs));
            if (!await keepAlive.ResponseStream.MoveNext(answered.Token).ConfigureAwait(false) || keepAlive.ResponseStream.Current.TTL <= 0)
            {
                // The lease expired (etcd was away longer than its TTL): register again.
                return;
            }
        }
    }

    private Task<PutResponse> PutRegistrationAsync(long lease, CancellationToken token)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", _name);
            json.WriteString("admin", _admin);
            lock (_gate)
            {
                json.WriteNumber("appliedRevision", _appliedRevision);
                json.WriteBoolean("stale", _staleSince is not null);
            }

            json.WriteEndObject();
        }

        var put = new PutRequest { Key = ByteString.CopyFromUtf8(_instancesPrefix + _name), Value = ByteString.CopyFrom(buffer.WrittenSpan), Lease = lease };
        return _etcd.CallAsync((invoker, options) => new KV.KVClient(invoker).PutAsync(put, options).ResponseAsync, token);
    }

    // Wakes the registration loop to write the registration again (once, however many calls).
    private void SignalRegistration()
    {
        try
        {
            if (_registrationDue.CurrentCount == 0)
            {
                _registrationDue.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Another call signalled it meanwhile: once is enough.
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }

    // The end of a prefix range: the prefix with its last byte raised by one (etcd's convention).
    private static ByteString PrefixEnd(string prefix)
    {
        byte[] end = Encoding.UTF8.GetBytes(prefix);
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end.AsSpan(0, i + 1));
            }
        }

        return ByteString.CopyFrom(0);
    }

    // The backends that are shared: those of lb.json and the admin API. Backends found through
    // DNS are each instance's own lookups (every instance asks DNS itself) and never stored.
    private static List<BackendConfig> Listed(IReadOnlyList<BackendConfig> backends) => backends.Where(b => b.Group is null).ToList();
}
