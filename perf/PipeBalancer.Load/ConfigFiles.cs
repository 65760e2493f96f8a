using System.Globalization;

namespace PipeBalancer.Load;

/// <summary>
/// The configuration files of a run, written alike for every proxy: the same three backends,
/// hashed on the request path (L7) or the client address (L4), the same TLS certificate.
/// </summary>
internal static class ConfigFiles
{
    /// <summary>Size of the file behind /big/N: the large-response workload.</summary>
    public const int LargeFileBytes = 256 * 1024;

    /// <summary>
    /// One nginx process (one worker) with a server block per backend: `return 200` for every
    /// path but /big/N, which is a 256 KB file sent with sendfile.
    /// </summary>
    public static string NginxBackends(string dir, IReadOnlyList<int> ports)
    {
        var servers = string.Join(Environment.NewLine, ports.Select((p, i) => string.Create(CultureInfo.InvariantCulture,
            $$"""
              server {
                listen 127.0.0.1:{{p}};
                location /big/ { try_files /big.bin =404; }
                location / { return 200 "hello from s{{i + 1}}\n"; }
              }
            """)));
        return $$"""
            worker_processes 1;
            worker_rlimit_nofile 65536;
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 32768; }
            http {
              access_log off;
              default_type text/plain;
              sendfile on;
              tcp_nopush on;
              root {{dir}};
              keepalive_requests 1000000;
              keepalive_timeout 120s;
              client_body_temp_path {{dir}}/client_body;
              proxy_temp_path {{dir}}/proxy;
              fastcgi_temp_path {{dir}}/fastcgi;
              uwsgi_temp_path {{dir}}/uwsgi;
              scgi_temp_path {{dir}}/scgi;
            {{servers}}
            }

            """;
    }

    /// <summary>
    /// lb.json: the ring on the path over the three backends (as the shipped lb.json), and three
    /// listeners: plain HTTP, HTTP behind TLS and TCP. With <paramref name="rateLimit"/>, one
    /// rate limiter by client address on the HTTP listeners, at a rate no run reaches: every
    /// request pays for the lookup, none is refused.
    /// </summary>
    public static string Balancer(FrontPorts front, int adminPort, IReadOnlyList<int> backends, string certificate, string key, bool rateLimit = false, bool tracing = false)
    {
        string limits = rateLimit
            ? """
              "rateLimits": [ { "name": "per-client", "listeners": [ "web", "secure" ], "key": "client-ip", "ratePerSecond": 1000000, "burst": 1000000 } ],
              """
            : "";

        // --tracing: every request gets a span, sent over OTLP/HTTP to the first nginx (whose
        // `return 200` answers the POST), so the export's cost is in the balancer's CPU.
        string tracingSection = tracing
            ? string.Create(CultureInfo.InvariantCulture,
                $$""", "tracing": { "enabled": true, "samplingRatio": 1, "otlpEndpoint": "http://127.0.0.1:{{backends[0]}}/v1/traces" }""")
            : "";
        var servers = string.Join(", ", backends.Select((p, i) => string.Create(CultureInfo.InvariantCulture,
            $$"""{ "id": "s{{i + 1}}", "address": "127.0.0.1:{{p}}", "weight": 1 }""")));
        return string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "listeners": [
                { "name": "web", "address": "127.0.0.1:{{front.Http}}", "mode": "http" },
                { "name": "secure", "address": "127.0.0.1:{{front.Https}}", "mode": "http",
                  "tls": { "certificate": {{Json(certificate)}}, "key": {{Json(key)}} } },
                { "name": "l4", "address": "127.0.0.1:{{front.Tcp}}", "mode": "tcp" }
              ],
              "admin": { "address": "127.0.0.1:{{adminPort}}" },
              "routing": { "algorithm": "ring", "hash": "xxhash3", "virtualNodes": 160, "key": "path" },
              {{limits}}
              "backends": [ {{servers}} ]{{tracingSection}}
            }

            """);
    }

    /// <summary>
    /// HAProxy 2.6 with two threads: `balance uri` + `hash-type consistent` + `http-reuse always`
    /// for HTTP and HTTPS, `mode tcp` + `balance source` for TCP. Keep-alive timeouts match the
    /// balancer's (75 s, its `keepAliveMs` default) so idle clients stay connected on both.
    /// </summary>
    public static string Haproxy(FrontPorts front, IReadOnlyList<int> backends, string pemWithKey, int maxConnections)
    {
        var servers = string.Join(Environment.NewLine, backends.Select((p, i) => string.Create(CultureInfo.InvariantCulture,
            $"    server s{i + 1} 127.0.0.1:{p}")));
        return string.Create(CultureInfo.InvariantCulture, $"""
            global
                nbthread 2
                maxconn {maxConnections}

            defaults
                mode http
                maxconn {maxConnections}
                timeout connect 5s
                timeout client 75s
                timeout server 60s
                timeout http-keep-alive 75s
                timeout http-request 10s

            frontend web
                bind 127.0.0.1:{front.Http}
                default_backend servers

            frontend secure
                bind 127.0.0.1:{front.Https} ssl crt {pemWithKey}
                default_backend servers

            frontend l4
                mode tcp
                bind 127.0.0.1:{front.Tcp}
                default_backend l4servers

            backend servers
                balance uri
                hash-type consistent
                http-reuse always
            {servers}

            backend l4servers
                mode tcp
                balance source
                hash-type consistent
            {servers}

            """);
    }

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text, LoadJsonContext.Default.String);
}
