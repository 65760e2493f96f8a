using System.Globalization;
using System.Text.Json;
using PipeBalancer.Http1;
using PipeBalancer.Routing;

namespace PipeBalancer.Configuration;

/// <summary>
/// Reads and validates lb.json. Validation goes on past the first problem and reports every
/// one with its JSON path, including misspelt property names; a config is returned only when
/// there is no error. The file is walked as a <see cref="JsonDocument"/> rather than bound by
/// the serializer, because the serializer stops at the first wrong type.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Most backends one balancer routes over.</summary>
    public const int MaxBackends = 10_000;

    /// <summary>Most ring points over all backends (virtualNodes x weight summed): 24 MB of ring.</summary>
    public const long MaxRingPoints = 4_000_000;

    /// <summary>Largest Maglev table: 2 MB.</summary>
    public const int MaxTableSize = 1_000_003;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly string[] RootProperties = ["listeners", "admin", "routing", "backends", "limits", "timeouts", "forwardedHeaders", "pool", "health", "circuit", "retries"];
    private static readonly string[] RetryProperties = ["max", "budgetPercent", "budgetWindowSeconds", "minRetriesPerWindow", "maxBufferedBodyBytes"];
    private static readonly string[] CircuitProperties = ["enabled", "consecutiveFailures", "cooldownMs", "maxCooldownMs", "count5xx"];
    private static readonly string[] HealthProperties = ["enabled", "path", "method", "intervalMs", "timeoutMs", "expectStatus", "expectBody", "rise", "fall", "maxBackoffMs", "jitter", "unknownTakesTraffic", "panicThresholdPercent", "slowStartMs"];
    private static readonly string[] LimitsProperties = ["maxRequestLineBytes", "maxHeaderBytes", "maxHeaderCount", "maxBodyBytes"];
    private static readonly string[] TimeoutsProperties = ["headersMs", "keepAliveMs", "connectMs", "responseHeadMs", "backendIdleMs", "shutdownTimeoutMs"];
    private static readonly string[] ForwardedProperties = ["for", "proto", "host"];
    private static readonly string[] PoolProperties = ["maxIdlePerBackend"];
    private static readonly string[] ListenerProperties = ["name", "address", "mode", "tls"];
    private static readonly string[] TlsProperties = ["certificate", "key"];
    private static readonly string[] AdminProperties = ["address", "token", "corsOrigins", "allowedHosts", "rateLimitPerSecond"];
    private static readonly string[] RoutingProperties = ["algorithm", "hash", "virtualNodes", "key", "loadFactor", "tableSize"];
    private static readonly string[] BackendProperties = ["id", "address", "weight", "drain", "health"];

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    public static ConfigResult LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(new ConfigError("$", $"cannot read {path}: {e.Message}"));
        }

        return Parse(text);
    }

    /// <summary>Reads lb.json text.</summary>
    public static ConfigResult Parse(string json) => Read(json, new Reader(), (reader, root) => reader.ReadRoot(root));

    /// <summary>
    /// Reads one <c>backends[]</c> entry from <paramref name="json"/> (the admin API's add) and
    /// returns <paramref name="current"/> with it appended. The entry is checked exactly as in
    /// lb.json: the same rules, a unique id and address among the backends in force, its health
    /// override over the <c>health</c> section, and the ring size limit. Paths start at <c>$</c>.
    /// </summary>
    public static ConfigResult AddBackend(BalancerConfig current, string json) =>
        Edit(json, (reader, root) =>
        {
            reader.Seed(current.Backends);
            var entry = reader.ReadBackendEntry(root, current.Health);
            if (entry is null)
            {
                return null;
            }

            var backends = current.Backends.Append(entry).ToList();
            return reader.CheckBackendList(backends, current.Routing) ? current with { Backends = backends } : null;
        });

    /// <summary>
    /// Reads <c>{"weight": n}</c> from <paramref name="json"/> and returns <paramref name="current"/>
    /// with backend <paramref name="id"/>'s weight changed, checked as lb.json is.
    /// </summary>
    public static ConfigResult SetWeight(BalancerConfig current, string id, string json) =>
        Edit(json, (reader, root) =>
        {
            int? weight = reader.ReadWeightBody(root);
            if (weight is null)
            {
                return null;
            }

            var backends = current.Backends.Select(b => b.Id == id ? b with { Weight = weight.Value } : b).ToList();
            return reader.CheckBackendList(backends, current.Routing) ? current with { Backends = backends } : null;
        });

    // A request body: its paths start at "$".
    private static ConfigResult Edit(string json, Func<Reader, JsonElement, BalancerConfig?> apply) =>
        Read(json, new Reader { BodyPaths = true }, apply);

    private static ConfigResult Read(string json, Reader reader, Func<Reader, JsonElement, BalancerConfig?> read)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // JsonException counts lines and bytes from zero; editors count from one.
            string where = string.Create(CultureInfo.InvariantCulture, $"line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}");
            return Failed(new ConfigError("$", $"not valid JSON at {where}: {FirstSentence(e.Message)}"));
        }

        using (document)
        {
            var config = read(reader, document.RootElement);
            return new ConfigResult(reader.Errors.Count == 0 ? config : null, reader.Errors, reader.Warnings);
        }
    }

    private static ConfigResult Failed(ConfigError error) => new(null, [error], []);

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message.TrimEnd('.') : message[..end];
    }

    private sealed class Reader
    {
        public List<ConfigError> Errors { get; } = [];

        public List<ConfigError> Warnings { get; } = [];

        public bool BodyPaths { get; init; }

        private readonly Dictionary<string, string> _listenerNames = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, int), string> _listenerAddresses = [];
        private readonly Dictionary<string, string> _backendIds = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, int), string> _backendAddresses = [];

        public BalancerConfig? ReadRoot(JsonElement root)
        {
            if (!ExpectObject(root, "$", RootProperties))
            {
                return null;
            }

            var listeners = ReadList(root, "listeners", ReadListener);
            var admin = ReadAdmin(root);
            var routing = ReadRouting(root);
            var backends = ReadList(root, "backends", ReadBackend);
            var limits = ReadLimits(root);
            var timeouts = ReadTimeouts(root);
            var forwarded = ReadForwarded(root);
            var pool = ReadPool(root);
            var health = ReadHealth(root);
            ReadBackendHealth(root, backends, health);
            var circuit = ReadCircuit(root);
            var retries = ReadRetries(root);
            CheckListeners(listeners, admin);
            CheckBackends(backends, routing);
            return listeners is null || admin is null || routing is null || backends is null || listeners.Contains(null) || backends.Contains(null) ||
                limits is null || timeouts is null || forwarded is null || pool is null || health is null || circuit is null || retries is null
                ? null
                : new BalancerConfig(listeners!, admin, routing, backends!)
                {
                    Limits = limits, Timeouts = timeouts, ForwardedHeaders = forwarded, Pool = pool, Health = health, Circuit = circuit, Retries = retries,
                };
        }

        private RetryConfig? ReadRetries(JsonElement root)
        {
            var d = RetryConfig.Default;
            if (!Section(root, "retries", RetryProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? d : null;
            }

            int? max = ReadInt(e, "retries", "max", 0, 10, d.Max);
            int? percent = ReadInt(e, "retries", "budgetPercent", 0, 100, d.BudgetPercent);
            int? window = ReadInt(e, "retries", "budgetWindowSeconds", 1, 600, d.BudgetWindowSeconds);
            int? minimum = ReadInt(e, "retries", "minRetriesPerWindow", 0, 1_000_000, d.MinRetriesPerWindow);
            int? buffered = ReadInt(e, "retries", "maxBufferedBodyBytes", 0, 16 * 1024 * 1024, d.MaxBufferedBodyBytes);
            return max is null || percent is null || window is null || minimum is null || buffered is null
                ? null
                : new RetryConfig
                {
                    Max = max.Value, BudgetPercent = percent.Value, BudgetWindowSeconds = window.Value, MinRetriesPerWindow = minimum.Value,
                    MaxBufferedBodyBytes = buffered.Value,
                };
        }

        private CircuitConfig? ReadCircuit(JsonElement root)
        {
            var d = CircuitConfig.Default;
            if (!Section(root, "circuit", CircuitProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? d : null;
            }

            const int Hour = 3600 * 1000;
            bool? enabled = ReadBool(e, "circuit", "enabled", d.Enabled);
            int? failures = ReadInt(e, "circuit", "consecutiveFailures", 1, 1000, d.ConsecutiveFailures);
            int? cooldown = ReadInt(e, "circuit", "cooldownMs", 10, Hour, d.CooldownMs);
            int? maxCooldown = ReadInt(e, "circuit", "maxCooldownMs", 10, Hour, d.MaxCooldownMs);
            bool? count5xx = ReadBool(e, "circuit", "count5xx", d.Count5xx);
            return enabled is null || failures is null || cooldown is null || maxCooldown is null || count5xx is null
                ? null
                : new CircuitConfig { Enabled = enabled.Value, ConsecutiveFailures = failures.Value, CooldownMs = cooldown.Value, MaxCooldownMs = maxCooldown.Value, Count5xx = count5xx.Value };
        }

        private HealthConfig? ReadHealth(JsonElement root)
        {
            if (!Section(root, "health", HealthProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? HealthConfig.Default : null;
            }

            return ReadHealthObject(e, "health", HealthConfig.Default);
        }

        // Per-backend overrides: each backends[i].health is read over the health section.
        private void ReadBackendHealth(JsonElement root, List<BackendConfig?>? backends, HealthConfig? global)
        {
            if (backends is null || global is null || !root.TryGetProperty("backends", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            int i = 0;
            foreach (var element in array.EnumerateArray())
            {
                string path = string.Create(CultureInfo.InvariantCulture, $"backends[{i}].health");
                if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("health", out var health) && ExpectObject(health, path, HealthProperties))
                {
                    var merged = ReadHealthObject(health, path, global);
                    backends[i] = merged is null || backends[i] is null ? null : backends[i]! with { Health = merged };
                }

                i++;
            }
        }

        private HealthConfig? ReadHealthObject(JsonElement e, string section, HealthConfig d)
        {
            const int Hour = 3600 * 1000;
            bool? enabled = ReadBool(e, section, "enabled", d.Enabled);
            string? path = e.TryGetProperty("path", out _) ? ReadString(e, section, "path", required: true) : d.Path;
            if (path is not null && (path.Length == 0 || path[0] != '/' || path.Any(c => c <= ' ' || c >= 0x7f)))
            {
                Error(section + ".path", $"must be an origin-form path starting with '/', without spaces or control characters, got \"{path}\"");
                path = null;
            }

            string? method = d.Method;
            if (e.TryGetProperty("method", out _))
            {
                method = ReadString(e, section, "method", required: true);
                if (method is not null and not ("GET" or "HEAD"))
                {
                    Error(section + ".method", $"unknown value \"{method}\"; expected one of GET, HEAD");
                    method = null;
                }
            }
            int? interval = ReadInt(e, section, "intervalMs", 50, Hour, d.IntervalMs);
            int? timeout = ReadInt(e, section, "timeoutMs", 10, Hour, d.TimeoutMs);
            int? rise = ReadInt(e, section, "rise", 1, 100, d.Rise);
            int? fall = ReadInt(e, section, "fall", 1, 100, d.Fall);
            int? backoff = ReadInt(e, section, "maxBackoffMs", 50, Hour, d.MaxBackoffMs);
            double? jitter = ReadNumber(e, section, "jitter", 0, 0.5, d.Jitter, exclusiveMin: false);
            bool? unknown = ReadBool(e, section, "unknownTakesTraffic", d.UnknownTakesTraffic);
            int? panic = ReadInt(e, section, "panicThresholdPercent", 0, 100, d.PanicThresholdPercent);
            int? slowStart = ReadInt(e, section, "slowStartMs", 0, Hour, d.SlowStartMs);
            string? body = e.TryGetProperty("expectBody", out _) ? ReadString(e, section, "expectBody", required: true) : d.ExpectBody;
            (int Min, int Max)? status = (d.StatusMin, d.StatusMax);
            if (e.TryGetProperty("expectStatus", out _) && ReadString(e, section, "expectStatus", required: true) is { } range)
            {
                status = ParseStatusRange(range);
                if (status is null)
                {
                    Error(section + ".expectStatus", $"must be a status or a range such as \"200-399\" within 100..599, got \"{range}\"");
                }
            }

            if (timeout is not null && interval is not null && timeout > interval)
            {
                Warn(section + ".timeoutMs", "is longer than intervalMs; checks of one backend never overlap, so the interval stretches");
            }

            return enabled is null || path is null || method is null || interval is null || timeout is null || rise is null || fall is null ||
                backoff is null || jitter is null || unknown is null || status is null || panic is null || slowStart is null
                ? null
                : new HealthConfig
                {
                    Enabled = enabled.Value, Path = path, Method = method, IntervalMs = interval.Value, TimeoutMs = timeout.Value,
                    StatusMin = status.Value.Min, StatusMax = status.Value.Max, ExpectBody = body, Rise = rise.Value, Fall = fall.Value,
                    MaxBackoffMs = backoff.Value, Jitter = jitter.Value, UnknownTakesTraffic = unknown.Value, PanicThresholdPercent = panic.Value,
                    SlowStartMs = slowStart.Value,
                };
        }

        private static (int Min, int Max)? ParseStatusRange(string text)
        {
            int dash = text.IndexOf('-', StringComparison.Ordinal);
            string low = dash < 0 ? text : text[..dash];
            string high = dash < 0 ? text : text[(dash + 1)..];
            return int.TryParse(low, NumberStyles.None, CultureInfo.InvariantCulture, out int min) &&
                int.TryParse(high, NumberStyles.None, CultureInfo.InvariantCulture, out int max) &&
                min is >= 100 and <= 599 && max is >= 100 and <= 599 && min <= max
                ? (min, max)
                : null;
        }

        private HttpLimits? ReadLimits(JsonElement root)
        {
            var d = HttpLimits.Default;
            if (!Section(root, "limits", LimitsProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? d : null;
            }

            int? line = ReadInt(e, "limits", "maxRequestLineBytes", 256, 1024 * 1024, d.MaxRequestLineBytes);
            int? headers = ReadInt(e, "limits", "maxHeaderBytes", 1024, 1024 * 1024, d.MaxHeaderBytes);
            int? count = ReadInt(e, "limits", "maxHeaderCount", 1, 10_000, d.MaxHeaderCount);
            long? body = ReadLong(e, "limits", "maxBodyBytes", 0, long.MaxValue, d.MaxBodyBytes);
            return line is null || headers is null || count is null || body is null
                ? null
                : new HttpLimits { MaxRequestLineBytes = line.Value, MaxHeaderBytes = headers.Value, MaxHeaderCount = count.Value, MaxBodyBytes = body.Value };
        }

        private TimeoutConfig? ReadTimeouts(JsonElement root)
        {
            var d = TimeoutConfig.Default;
            if (!Section(root, "timeouts", TimeoutsProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? d : null;
            }

            const int Day = 24 * 3600 * 1000;
            int? headers = ReadInt(e, "timeouts", "headersMs", 100, Day, d.HeadersMs);
            int? keepAlive = ReadInt(e, "timeouts", "keepAliveMs", 100, Day, d.KeepAliveMs);
            int? connect = ReadInt(e, "timeouts", "connectMs", 10, Day, d.ConnectMs);
            int? response = ReadInt(e, "timeouts", "responseHeadMs", 100, Day, d.ResponseHeadMs);
            int? idle = ReadInt(e, "timeouts", "backendIdleMs", 100, Day, d.BackendIdleMs);
            int? shutdown = ReadInt(e, "timeouts", "shutdownTimeoutMs", 0, Day, d.ShutdownTimeoutMs);
            return headers is null || keepAlive is null || connect is null || response is null || idle is null || shutdown is null
                ? null
                : new TimeoutConfig
                {
                    HeadersMs = headers.Value, KeepAliveMs = keepAlive.Value, ConnectMs = connect.Value, ResponseHeadMs = response.Value,
                    BackendIdleMs = idle.Value, ShutdownTimeoutMs = shutdown.Value,
                };
        }

        private ForwardedHeadersConfig? ReadForwarded(JsonElement root)
        {
            if (!Section(root, "forwardedHeaders", ForwardedProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? ForwardedHeadersConfig.Default : null;
            }

            bool? forValue = ReadBool(e, "forwardedHeaders", "for", true);
            bool? proto = ReadBool(e, "forwardedHeaders", "proto", true);
            bool? host = ReadBool(e, "forwardedHeaders", "host", true);
            return forValue is null || proto is null || host is null ? null : new ForwardedHeadersConfig(forValue.Value, proto.Value, host.Value);
        }

        private PoolConfig? ReadPool(JsonElement root)
        {
            if (!Section(root, "pool", PoolProperties, out var e))
            {
                return e.ValueKind == JsonValueKind.Undefined ? PoolConfig.Default : null;
            }

            int? idle = ReadInt(e, "pool", "maxIdlePerBackend", 0, 100_000, PoolConfig.Default.MaxIdlePerBackend);
            return idle is null ? null : new PoolConfig(idle.Value);
        }

        // True when the optional section is present and an object; "e" is Undefined when absent.
        private bool Section(JsonElement root, string name, string[] known, out JsonElement e)
        {
            if (!root.TryGetProperty(name, out e))
            {
                e = default;
                return false;
            }

            return ExpectObject(e, name, known);
        }

        // Every entry is read even when an earlier one failed, so that one run reports all errors;
        // a failed entry is a null in the list.
        private List<T?>? ReadList<T>(JsonElement root, string name, Func<JsonElement, string, T?> readItem)
            where T : class
        {
            if (!root.TryGetProperty(name, out var array))
            {
                Error(name, "is required");
                return null;
            }

            if (array.ValueKind != JsonValueKind.Array)
            {
                Error(name, $"must be an array, got {Describe(array)}");
                return null;
            }

            if (array.GetArrayLength() == 0)
            {
                Error(name, "needs at least one entry");
                return null;
            }

            var items = new List<T?>();
            foreach (var element in array.EnumerateArray())
            {
                items.Add(readItem(element, string.Create(CultureInfo.InvariantCulture, $"{name}[{items.Count}]")));
            }

            return items;
        }

        private ListenerConfig? ReadListener(JsonElement e, string path)
        {
            if (!ExpectObject(e, path, ListenerProperties))
            {
                return null;
            }

            string? name = ReadName(e, path, "name");
            var address = ReadAddress(e, path, allowAnyHost: true, allowPortZero: true);
            if (name is not null)
            {
                CheckUnique(_listenerNames, name, path + ".name", "name", name);
            }

            // Port 0 asks the system for a free port: several such listeners do not collide.
            if (address is { Port: not 0 })
            {
                CheckUnique(_listenerAddresses, Normalize(address), path + ".address", "address", address.Text);
            }
            var mode = ReadChoice(e, path, "mode", [("http", ListenerMode.Http), ("tcp", ListenerMode.Tcp)], ListenerMode.Http);
            TlsConfig? tls = null;
            bool tlsValid = true;
            if (e.TryGetProperty("tls", out var tlsElement))
            {
                tls = ReadTls(tlsElement, path + ".tls");
                tlsValid = tls is not null;
            }

            return name is null || address is null || mode is null || !tlsValid ? null : new ListenerConfig(name, address, mode.Value) { Tls = tls };
        }

        private TlsConfig? ReadTls(JsonElement e, string path)
        {
            if (!ExpectObject(e, path, TlsProperties))
            {
                return null;
            }

            string? certificate = ReadString(e, path, "certificate", required: true);
            string? key = ReadString(e, path, "key", required: true);
            foreach (var (name, file) in new[] { ("certificate", certificate), ("key", key) })
            {
                if (file is not null && !File.Exists(file))
                {
                    Error($"{path}.{name}", $"no such file: {file} (a PEM file; a relative path is read from the working directory)");
                    return null;
                }
            }

            return certificate is null || key is null ? null : new TlsConfig(certificate, key);
        }

        private AdminConfig? ReadAdmin(JsonElement root)
        {
            if (!root.TryGetProperty("admin", out var e))
            {
                return new AdminConfig(AdminConfig.DefaultAddress);
            }

            if (!ExpectObject(e, "admin", AdminProperties))
            {
                return null;
            }

            var address = e.TryGetProperty("address", out _)
                ? ReadAddress(e, "admin", allowAnyHost: true, allowPortZero: true)
                : AdminConfig.DefaultAddress;
            string? token = ReadString(e, "admin", "token", required: false);
            if (token is not null && (token.Length < AdminConfig.MinTokenLength || token.Any(char.IsWhiteSpace)))
            {
                Error("admin.token", string.Create(CultureInfo.InvariantCulture, $"must be at least {AdminConfig.MinTokenLength} characters without whitespace"));
                token = null;
            }

            var origins = ReadOrigins(e);
            var hosts = ReadAllowedHosts(e);
            int? rate = ReadInt(e, "admin", "rateLimitPerSecond", 0, 1_000_000, 100);
            if (address is null || origins is null || hosts is null || rate is null)
            {
                return null;
            }

            var admin = new AdminConfig(address) { Token = token, CorsOrigins = origins, AllowedHosts = hosts, RateLimitPerSecond = rate.Value };
            if (!admin.IsLoopback && token is null && !e.TryGetProperty("token", out _))
            {
                // The admin API changes where traffic goes: reachable from other machines, it must ask who calls.
                Error("admin.token", $"is required when admin.address ('{address}') is not a loopback address");
            }

            return admin;
        }

        private List<string>? ReadOrigins(JsonElement admin)
        {
            if (!admin.TryGetProperty("corsOrigins", out var array))
            {
                return [];
            }

            if (array.ValueKind != JsonValueKind.Array)
            {
                Error("admin.corsOrigins", $"must be an array of origins, got {Describe(array)}");
                return null;
            }

            var origins = new List<string>();
            bool valid = true;
            int i = 0;
            foreach (var item in array.EnumerateArray())
            {
                string path = string.Create(CultureInfo.InvariantCulture, $"admin.corsOrigins[{i++}]");
                if (item.ValueKind != JsonValueKind.String)
                {
                    Error(path, $"must be a string, got {Describe(item)}");
                    valid = false;
                    continue;
                }

                string text = item.GetString()!;
                if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") ||
                    uri.PathAndQuery != "/" || text.EndsWith('/') || uri.UserInfo.Length != 0)
                {
                    Error(path, $"must be an origin like \"https://ops.example.com\" (scheme, host, optional port; no path), got \"{text}\"");
                    valid = false;
                    continue;
                }

                origins.Add(text);
            }

            return valid ? origins : null;
        }

        private List<string>? ReadAllowedHosts(JsonElement admin)
        {
            if (!admin.TryGetProperty("allowedHosts", out var array))
            {
                return [];
            }

            if (array.ValueKind != JsonValueKind.Array)
            {
                Error("admin.allowedHosts", $"must be an array of host names, got {Describe(array)}");
                return null;
            }

            var hosts = new List<string>();
            bool valid = true;
            int i = 0;
            foreach (var item in array.EnumerateArray())
            {
                string path = string.Create(CultureInfo.InvariantCulture, $"admin.allowedHosts[{i++}]");
                string? text = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
                if (text is null || Uri.CheckHostName(text) is UriHostNameType.Unknown or UriHostNameType.Basic)
                {
                    Error(path, text is null
                        ? $"must be a string, got {Describe(item)}"
                        : $"must be a host name or IP address without scheme or port, like \"lb-1.internal\", got \"{text}\"");
                    valid = false;
                    continue;
                }

                hosts.Add(text);
            }

            return valid ? hosts : null;
        }

        private RoutingConfig? ReadRouting(JsonElement root)
        {
            var defaults = RoutingConfig.Default;
            if (!root.TryGetProperty("routing", out var e))
            {
                return defaults;
            }

            if (!ExpectObject(e, "routing", RoutingProperties))
            {
                return null;
            }

            var algorithm = ReadChoice(e, "routing", "algorithm", RoutingNames.Algorithms, defaults.Algorithm);
            var hash = ReadChoice(e, "routing", "hash", RoutingNames.Hashes, defaults.Hash);
            int? virtualNodes = ReadInt(e, "routing", "virtualNodes", 1, 10_000, defaults.VirtualNodes);
            double? loadFactor = ReadNumber(e, "routing", "loadFactor", 1.0, 100.0, defaults.LoadFactor, exclusiveMin: true);
            int? tableSize = ReadInt(e, "routing", "tableSize", 101, MaxTableSize, defaults.TableSize);
            KeySource? key = defaults.Key;
            if (ReadString(e, "routing", "key", required: false) is { } keyText)
            {
                if (!KeySource.TryParse(keyText, out key, out string? keyError))
                {
                    Error("routing.key", keyError!);
                }
            }

            if (tableSize is { } size && !Primes.IsPrime(size))
            {
                Error("routing.tableSize", string.Create(CultureInfo.InvariantCulture,
                    $"must be a prime number (Maglev needs it), got {size}; the next prime is {Primes.NextPrime(size)}"));
                tableSize = null;
            }

            if (algorithm is { } a)
            {
                CheckAlgorithmSettings(e, a, hash);
            }

            return algorithm is null || hash is null || virtualNodes is null || loadFactor is null || tableSize is null || key is null
                ? null
                : new RoutingConfig(algorithm.Value, algorithm == RoutingAlgorithm.Nginx ? HashFunction.Crc32 : hash.Value, virtualNodes.Value, key, loadFactor.Value, tableSize.Value);

            void CheckAlgorithmSettings(JsonElement routing, RoutingAlgorithm algorithm, HashFunction? hash)
            {
                if (algorithm == RoutingAlgorithm.Nginx)
                {
                    if (routing.TryGetProperty("hash", out _) && hash is not null and not HashFunction.Crc32)
                    {
                        Error("routing.hash", $"the nginx algorithm hashes with crc32, as nginx does; remove \"hash\" or set \"crc32\", got \"{RoutingNames.Of(hash.Value)}\"");
                    }

                    if (routing.TryGetProperty("virtualNodes", out var v) && v.ValueKind == JsonValueKind.Number &&
                        v.TryGetInt32(out int points) && points != RoutingConfig.DefaultVirtualNodes)
                    {
                        Error("routing.virtualNodes", string.Create(CultureInfo.InvariantCulture,
                            $"the nginx algorithm places 160 points per unit of weight, as nginx does; remove \"virtualNodes\" or set 160, got {points}"));
                    }
                }

                if (algorithm != RoutingAlgorithm.RingBounded && routing.TryGetProperty("loadFactor", out _))
                {
                    Warn("routing.loadFactor", "only ring-bounded uses it; ignored");
                }

                if (algorithm != RoutingAlgorithm.Maglev && routing.TryGetProperty("tableSize", out _))
                {
                    Warn("routing.tableSize", "only maglev uses it; ignored");
                }

                if (algorithm is RoutingAlgorithm.RoundRobin or RoutingAlgorithm.LeastConnections && routing.TryGetProperty("key", out _))
                {
                    Warn("routing.key", $"{RoutingNames.Of(algorithm)} does not route on a key; ignored");
                }
            }
        }

        private BackendConfig? ReadBackend(JsonElement e, string path)
        {
            if (!ExpectObject(e, path, BackendProperties))
            {
                return null;
            }

            string? id = ReadName(e, path, "id");
            var address = ReadAddress(e, path, allowAnyHost: false, allowPortZero: false);
            if (id is not null)
            {
                CheckUnique(_backendIds, id, path + ".id", "id", id);
            }

            if (address is not null)
            {
                CheckUnique(_backendAddresses, Normalize(address), path + ".address", "address", address.Text);
            }
            int? weight = ReadInt(e, path, "weight", 1, 1000, 1);
            bool? drain = ReadBool(e, path, "drain", false);
            return id is null || address is null || weight is null || drain is null ? null : new BackendConfig(id, address, weight.Value) { Drain = drain.Value };
        }

        // The backends in force, so that a new entry is checked against them as against earlier entries of the file.
        public void Seed(IReadOnlyList<BackendConfig> backends)
        {
            for (int i = 0; i < backends.Count; i++)
            {
                string path = string.Create(CultureInfo.InvariantCulture, $"backends[{i}]");
                _backendIds.TryAdd(backends[i].Id, path);
                _backendAddresses.TryAdd(Normalize(backends[i].Address), path);
            }
        }

        public BackendConfig? ReadBackendEntry(JsonElement e, HealthConfig global)
        {
            var entry = ReadBackend(e, "$");
            if (entry is not null && e.TryGetProperty("health", out var health) && ExpectObject(health, "$.health", HealthProperties))
            {
                var merged = ReadHealthObject(health, "$.health", global);
                return merged is null ? null : entry with { Health = merged };
            }

            return entry;
        }

        public int? ReadWeightBody(JsonElement e)
        {
            if (!ExpectObject(e, "$", ["weight"]))
            {
                return null;
            }

            if (!e.TryGetProperty("weight", out _))
            {
                Error("$.weight", "is required");
                return null;
            }

            return ReadInt(e, "$", "weight", 1, 1000, 1);
        }

        public bool CheckBackendList(List<BackendConfig> backends, RoutingConfig routing)
        {
            int before = Errors.Count;
            CheckBackends(backends!, routing);
            return Errors.Count == before;
        }

        private void CheckListeners(List<ListenerConfig?>? listeners, AdminConfig? admin)
        {
            if (listeners is null || admin is null)
            {
                return;
            }

            for (int i = 0; i < listeners.Count; i++)
            {
                var address = listeners[i]?.Address;
                if (address is not null && address.Port != 0 && Normalize(address) == Normalize(admin.Address))
                {
                    Error(string.Create(CultureInfo.InvariantCulture, $"listeners[{i}].address"), $"'{address}' is also the admin address; the admin app needs its own");
                }
            }
        }

        private void CheckBackends(List<BackendConfig?>? backends, RoutingConfig? routing)
        {
            if (backends is null)
            {
                return;
            }

            if (backends.Count > MaxBackends)
            {
                Error("backends", string.Create(CultureInfo.InvariantCulture, $"at most {MaxBackends} backends, got {backends.Count}"));
            }

            long weights = backends.Sum(b => (long)(b?.Weight ?? 0));
            if (routing is { Algorithm: RoutingAlgorithm.Ring or RoutingAlgorithm.RingBounded or RoutingAlgorithm.Nginx })
            {
                long points = weights * routing.VirtualNodes;
                if (points > MaxRingPoints)
                {
                    Error("routing.virtualNodes", string.Create(CultureInfo.InvariantCulture,
                        $"virtualNodes x the sum of weights makes {points} ring points; at most {MaxRingPoints}"));
                }
            }
        }

        // Reports a value seen before in the same list: "duplicate id 's1' (also backends[0])".
        private void CheckUnique<TKey>(Dictionary<TKey, string> seen, TKey key, string path, string what, string shown)
            where TKey : notnull
        {
            if (!seen.TryAdd(key, path[..path.LastIndexOf('.')]))
            {
                Error(path, $"duplicate {what} '{shown}' (also {seen[key]})");
            }
        }

        // Addresses compare by what they reach: IP text is canonicalised, names are case-blind.
        private static (string, int) Normalize(HostPort address) =>
            (address.IPAddress?.ToString() ?? address.Host.ToLowerInvariant(), address.Port);

        private bool ExpectObject(JsonElement e, string path, string[] known)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"must be an object, got {Describe(e)}");
                return false;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in e.EnumerateObject())
            {
                // lb.json paths start at the root's members ("routing.key"); a request body's at "$".
                string where = path == "$" && !BodyPaths ? property.Name : $"{path}.{property.Name}";
                if (!seen.Add(property.Name))
                {
                    Error(where, "appears twice in the same object");
                }
                else if (Array.IndexOf(known, property.Name) < 0)
                {
                    string? guess = Closest(property.Name, known);
                    Error(where, guess is null
                        ? $"unknown property; expected one of {string.Join(", ", known)}"
                        : $"unknown property; did you mean '{guess}'?");
                }
            }

            return true;
        }

        private string? ReadName(JsonElement e, string path, string name)
        {
            string? value = ReadString(e, path, name, required: true);
            if (value is null)
            {
                return null;
            }

            // Ids end up in metric labels, log lines and admin URLs: keep them to a safe alphabet.
            bool valid = value.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(value[0]) &&
                value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
            if (!valid)
            {
                Error($"{path}.{name}", $"must be 1..64 characters of letters, digits, '-', '_' or '.', starting with a letter or digit, got \"{value}\"");
                return null;
            }

            return value;
        }

        private HostPort? ReadAddress(JsonElement e, string path, bool allowAnyHost, bool allowPortZero)
        {
            string? text = ReadString(e, path, "address", required: true);
            if (text is null)
            {
                return null;
            }

            if (!HostPort.TryParse(text, allowAnyHost, out var address, out string? error))
            {
                Error(path + ".address", $"{error}, got \"{text}\"");
                return null;
            }

            if (address!.Port == 0 && !allowPortZero)
            {
                Error(path + ".address", $"port must be 1..65535, got \"{text}\"");
                return null;
            }

            return address;
        }

        private T? ReadChoice<T>(JsonElement e, string path, string name, IReadOnlyList<(string Name, T Value)> choices, T fallback)
            where T : struct
        {
            if (!e.TryGetProperty(name, out var value))
            {
                return fallback;
            }

            string? text = ReadString(e, path, name, required: true);
            if (text is null)
            {
                return null;
            }

            foreach (var choice in choices)
            {
                if (choice.Name == text)
                {
                    return choice.Value;
                }
            }

            Error($"{path}.{name}", $"unknown value \"{text}\"; expected one of {string.Join(", ", choices.Select(c => c.Name))}");
            return null;
        }

        private string? ReadString(JsonElement e, string path, string name, bool required)
        {
            if (!e.TryGetProperty(name, out var value))
            {
                if (required)
                {
                    Error($"{path}.{name}", "is required");
                }

                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                Error($"{path}.{name}", $"must be a string, got {Describe(value)}");
                return null;
            }

            return value.GetString();
        }

        private int? ReadInt(JsonElement e, string path, string name, int min, int max, int fallback)
        {
            if (!e.TryGetProperty(name, out var value))
            {
                return fallback;
            }

            string where = $"{path}.{name}";
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number))
            {
                Error(where, string.Create(CultureInfo.InvariantCulture, $"must be a whole number {min}..{max}, got {Describe(value)}"));
                return null;
            }

            if (number < min || number > max)
            {
                Error(where, string.Create(CultureInfo.InvariantCulture, $"must be {min}..{max}, got {number}"));
                return null;
            }

            return (int)number;
        }

        private long? ReadLong(JsonElement e, string path, string name, long min, long max, long fallback)
        {
            if (!e.TryGetProperty(name, out var value))
            {
                return fallback;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number) || number < min || number > max)
            {
                Error($"{path}.{name}", string.Create(CultureInfo.InvariantCulture, $"must be a whole number {min}..{max}, got {Describe(value)}"));
                return null;
            }

            return number;
        }

        private bool? ReadBool(JsonElement e, string path, string name, bool fallback)
        {
            if (!e.TryGetProperty(name, out var value))
            {
                return fallback;
            }

            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Error($"{path}.{name}", $"must be true or false, got {Describe(value)}");
                return null;
            }

            return value.GetBoolean();
        }

        private double? ReadNumber(JsonElement e, string path, string name, double min, double max, double fallback, bool exclusiveMin)
        {
            if (!e.TryGetProperty(name, out var value))
            {
                return fallback;
            }

            string where = $"{path}.{name}";
            string range = string.Create(CultureInfo.InvariantCulture, $"{(exclusiveMin ? "above " : "")}{min} and at most {max}");
            if (value.ValueKind != JsonValueKind.Number)
            {
                Error(where, $"must be a number {range}, got {Describe(value)}");
                return null;
            }

            double number = value.GetDouble();
            if (number < min || (exclusiveMin && number == min) || number > max)
            {
                Error(where, string.Create(CultureInfo.InvariantCulture, $"must be {range}, got {value.GetRawText()}"));
                return null;
            }

            return number;
        }

        private void Error(string path, string reason) => Errors.Add(new ConfigError(path, reason));

        private void Warn(string path, string reason) => Warnings.Add(new ConfigError(path, reason));

        private static string Describe(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => $"string \"{e.GetString()}\"",
            JsonValueKind.Number => "number " + e.GetRawText(),
            JsonValueKind.True or JsonValueKind.False => "boolean " + e.GetRawText(),
            JsonValueKind.Null => "null",
            JsonValueKind.Array => "an array",
            _ => "an object",
        };

        // Suggests the known name closest to a misspelt one (Levenshtein distance at most 2, or a
        // case-only difference), so "virtualnodes" and "algoritm" point at the fix.
        private static string? Closest(string name, string[] known)
        {
            string? best = null;
            int bestDistance = int.MaxValue;
            foreach (string candidate in known)
            {
                int distance = string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase) ? 0 : Levenshtein(name, candidate);
                if (distance < bestDistance)
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }

            return bestDistance <= 2 ? best : null;
        }

        private static int Levenshtein(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }

            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                    current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }
    }
}
