using System.Globalization;

namespace PipeBalancer.Configuration;

/// <summary>
/// The <c>cluster</c> section: etcd client URLs of one scheme, a key prefix, an instance name
/// from the ids' alphabet, user and password together, and TLS files that exist.
/// </summary>
internal static class ClusterValidator
{
    /// <summary>Longest key prefix: the keys stay far under etcd's 1.5 MB request limit and readable in etcdctl.</summary>
    public const int MaxPrefixLength = 256;

    public static void Validate(ConfigDraft draft, ConfigIssues issues)
    {
        if (draft.Config.Cluster is not { } cluster)
        {
            return;
        }

        CheckEndpoints(cluster, issues);
        string? prefix = cluster.Prefix;
        if (prefix is not null && (!prefix.StartsWith('/') || prefix.Length > MaxPrefixLength || prefix.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            issues.Error("cluster.prefix", string.Create(CultureInfo.InvariantCulture,
                $"must start with '/' and be at most {MaxPrefixLength} characters without whitespace, like \"/pipebalancer/shop/\", got \"{prefix}\""));
        }

        if (cluster.Name is { } name)
        {
            EntryRules.CheckName(name, "cluster.name", issues);
        }

        if ((cluster.Username is null) != (cluster.Password is null) && !(draft.IsWritten("cluster.username") && draft.IsWritten("cluster.password")))
        {
            string missing = cluster.Username is null ? "cluster.username" : "cluster.password";
            issues.Error(missing, "is required when " + (cluster.Username is null ? "cluster.password" : "cluster.username") + " is given (etcd authenticates a user with its password)");
        }

        if (cluster.Tls is { } tls)
        {
            if (cluster.Endpoints.Any(e => e is not null && e.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
            {
                issues.Error("cluster.tls", "is given but cluster.endpoints has http:// URLs; TLS needs https:// endpoints");
            }

            if ((tls.Certificate is null) != (tls.Key is null))
            {
                issues.Error(tls.Certificate is null ? "cluster.tls.certificate" : "cluster.tls.key", "a client certificate needs both cluster.tls.certificate and cluster.tls.key");
            }

            CheckFile(tls.CaCertificate, "cluster.tls.caCertificate", issues);
            CheckFile(tls.Certificate, "cluster.tls.certificate", issues);
            CheckFile(tls.Key, "cluster.tls.key", issues);
        }
    }

    private static void CheckEndpoints(ClusterConfig cluster, ConfigIssues issues)
    {
        if (cluster.Endpoints.Count == 0)
        {
            issues.Error("cluster.endpoints", "must name at least one etcd client URL, like \"http://10.0.0.5:2379\"");
            return;
        }

        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? scheme = null;
        for (int i = 0; i < cluster.Endpoints.Count; i++)
        {
            string? text = cluster.Endpoints[i];
            string path = string.Create(CultureInfo.InvariantCulture, $"cluster.endpoints[{i}]");
            if (text is null)
            {
                continue;
            }

            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" ||
                uri.UserInfo.Length > 0 || uri.Fragment.Length > 0 || text.EndsWith('/'))
            {
                issues.Error(path, $"must be an etcd client URL: http:// or https://, host and port, no path, like \"http://10.0.0.5:2379\", got \"{text}\"");
                continue;
            }

            if (scheme is not null && uri.Scheme != scheme)
            {
                issues.Error(path, $"mixes {uri.Scheme}:// with {scheme}:// URLs; every endpoint of one etcd cluster uses the same scheme");
            }

            scheme ??= uri.Scheme;
            if (!seen.TryAdd(uri.Authority, path))
            {
                issues.Error(path, $"duplicate endpoint '{text}' (also {seen[uri.Authority]})");
            }
        }
    }

    private static void CheckFile(string? file, string path, ConfigIssues issues)
    {
        if (file is not null && !File.Exists(file))
        {
            issues.Error(path, $"no such file: {file} (a PEM file; a relative path is read from the working directory)");
        }
    }
}
