using System.Net;
using DnsClient;
using DnsClient.Protocol;
using PipeBalancer.Configuration;

namespace PipeBalancer.Discovery;

/// <summary>
/// Looks one discovery group up with DnsClient: its SRV records and each target's addresses
/// (from the answer's additional section, else asked for), or the A and AAAA records of its
/// name. The group's resolver is asked, or the servers of /etc/resolv.conf; nothing is cached
/// here, so each lookup sees what the server says now.
/// </summary>
internal sealed class DnsLookup
{
    private readonly DiscoveryConfig _group;
    private readonly LookupClient _client;

    /// <summary>Creates the lookup of <paramref name="group"/>.</summary>
    public DnsLookup(DiscoveryConfig group)
    {
        _group = group;
        var options = group.Resolver is { IPAddress: { } ip } resolver
            ? new LookupClientOptions(new IPEndPoint(ip, resolver.Port))
            : new LookupClientOptions();
        options.Timeout = TimeSpan.FromMilliseconds(group.TimeoutMs);
        options.Retries = 0;
        options.UseCache = false;
        options.ThrowDnsErrors = false;
        options.ContinueOnDnsError = true;
        options.ContinueOnEmptyResponse = false;
        _client = new LookupClient(options);
    }

    /// <summary>Looks the group up once.</summary>
    public async Task<LookupResult> LookupAsync(CancellationToken cancellationToken)
    {
        try
        {
            return _group.Srv is { } srv
                ? await LookupSrvAsync(srv, cancellationToken).ConfigureAwait(false)
                : await LookupAddressesAsync(_group.Name!, _group.Port, cancellationToken).ConfigureAwait(false);
        }
        catch (DnsResponseException e)
        {
            // DnsClient reports a server that does not answer (or cannot be reached) this way.
            return LookupResult.Failed(e.Code == DnsResponseCode.ConnectionTimeout ? LookupFailure.Timeout : LookupFailure.Other, e.Message);
        }
    }

    private async Task<LookupResult> LookupSrvAsync(string name, CancellationToken cancellationToken)
    {
        var response = await _client.QueryAsync(name, QueryType.SRV, QueryClass.IN, cancellationToken).ConfigureAwait(false);
        if (Failure(response) is { } failed)
        {
            return failed;
        }

        var records = response.Answers.SrvRecords().ToList();
        var ttl = records.Count == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(records.Min(r => r.InitialTimeToLive));
        var targets = new List<DiscoveredTarget>();
        foreach (var record in records)
        {
            string host = record.Target.Value.TrimEnd('.').ToLowerInvariant();
            var known = response.Additionals.ARecords().Cast<AddressRecord>().Concat(response.Additionals.AaaaRecords())
                .Where(a => string.Equals(a.DomainName.Value.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase))
                .ToList();
            IPAddress? address;
            if (known.Count > 0)
            {
                address = First(known);
                ttl = Shorter(ttl, TimeSpan.FromSeconds(known.Min(a => a.InitialTimeToLive)));
            }
            else
            {
                var resolved = await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
                if (resolved.Failure is { } targetFailed)
                {
                    return targetFailed;
                }

                address = resolved.Records.Count > 0 ? First(resolved.Records) : null;
                ttl = resolved.Records.Count > 0 ? Shorter(ttl, TimeSpan.FromSeconds(resolved.Records.Min(a => a.InitialTimeToLive))) : ttl;
            }

            // A target that names no address cannot be reached: it is not a backend (yet).
            if (address is not null)
            {
                targets.Add(new DiscoveredTarget(host, record.Port, address, record.Priority, record.Weight));
            }
        }

        return LookupResult.Answered(targets, ttl);
    }

    private async Task<LookupResult> LookupAddressesAsync(string name, int port, CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(name, cancellationToken).ConfigureAwait(false);
        if (resolved.Failure is { } failed)
        {
            return failed;
        }

        var ttl = resolved.Records.Count == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(resolved.Records.Min(a => a.InitialTimeToLive));
        var targets = resolved.Records
            .Select(a => new DiscoveredTarget(a.Address.ToString(), port, a.Address, Priority: 0, Weight: 0))
            .ToList();
        return LookupResult.Answered(targets, ttl);
    }

    // A then AAAA: a name with no record of one family is not a failure, a failure of either is.
    private async Task<(List<AddressRecord> Records, LookupResult? Failure)> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        var records = new List<AddressRecord>();
        foreach (var type in (QueryType[])[QueryType.A, QueryType.AAAA])
        {
            var response = await _client.QueryAsync(name, type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
            if (Failure(response) is { } failed)
            {
                return (records, failed);
            }

            records.AddRange(type == QueryType.A ? response.Answers.ARecords() : response.Answers.AaaaRecords());
        }

        return (records, null);
    }

    // The lowest address, so that a target with several addresses is reached alike by every instance.
    private static IPAddress First(IEnumerable<AddressRecord> records) =>
        records.Select(r => r.Address).OrderBy(a => a.AddressFamily).ThenBy(a => a.ToString(), StringComparer.Ordinal).First();

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static LookupResult? Failure(IDnsQueryResponse response)
    {
        if (!response.HasError)
        {
            return null;
        }

        var kind = response.Header.ResponseCode switch
        {
            DnsHeaderResponseCode.ServerFailure => LookupFailure.ServerFailure,
            DnsHeaderResponseCode.Refused => LookupFailure.Refused,
            DnsHeaderResponseCode.NotExistentDomain => LookupFailure.NameError,
            _ => LookupFailure.Other,
        };
        return LookupResult.Failed(kind, response.ErrorMessage);
    }
}
