#!/usr/bin/env bash
# Capture test vectors for nginx's `hash $request_uri consistent;` upstream
# selection from a REAL nginx, for checking PipeBalancer's reimplementation.
#
# Usage: capture-nginx-vectors.sh [OUTPUT_TSV]
#   OUTPUT_TSV defaults to
#   <repo>/test/PipeBalancer.Tests/Routing/Vectors/nginx-chash.tsv
#   Environment: NGINX=/path/to/nginx (default: nginx from PATH).
#
# Requirements: nginx (built with the default upstream hash module), curl.
# Runs a private nginx instance (own prefix, config, pid, logs and temp
# paths inside a mktemp directory; the system config is never read) that
# listens only on 127.0.0.1 ports 18001-18010 (backends) and 18080/18081
# (fronts). The chosen upstream is taken from nginx's own access log
# ($upstream_addr), i.e. it is nginx's decision, not inferred.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
OUT="${1:-$REPO_ROOT/test/PipeBalancer.Tests/Routing/Vectors/nginx-chash.tsv}"
NGINX="${NGINX:-nginx}"

command -v "$NGINX" >/dev/null || { echo "nginx not found (set NGINX=...)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

FRONT_THREE=18080
FRONT_TEN=18081
BACKEND_PORTS=$(seq 18001 18010)

# Refuse to start if any port is already taken on 127.0.0.1.
for p in $BACKEND_PORTS $FRONT_THREE $FRONT_TEN; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "port 127.0.0.1:$p is already in use" >&2
        exit 1
    fi
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/nginx-chash.XXXXXX")"
NGINX_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$TMP/error.log" ]]; then
        echo "---- nginx error.log ----" >&2
        tail -n 30 "$TMP/error.log" >&2 || true
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Upstream definitions: "set server weight", in config order. The upstream
# blocks below are generated from this list, and it is echoed into the TSV
# header, so the two cannot drift apart.
UPSTREAMS=(
    "three 127.0.0.1:18001 1"
    "three 127.0.0.1:18002 1"
    "three 127.0.0.1:18003 2"
)
for p in $BACKEND_PORTS; do
    UPSTREAMS+=("ten 127.0.0.1:$p 1")
done

upstream_block() { # $1 = set name
    local set srv w
    echo "    upstream $1 {"
    echo "        hash \$request_uri consistent;"
    for u in "${UPSTREAMS[@]}"; do
        read -r set srv w <<<"$u"
        [[ "$set" == "$1" ]] && echo "        server $srv weight=$w;"
    done
    echo "    }"
}

USER_LINE=""
if [[ $EUID -eq 0 ]]; then
    # Workers would otherwise drop to "nobody"; keep them as the current user.
    USER_LINE="user $(id -un) $(id -gn);"
fi

mkdir -p "$TMP/logs" "$TMP/tmp"
cat >"$TMP/nginx.conf" <<EOF
$USER_LINE
worker_processes 1;
daemon off;
master_process on;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;

events {
    worker_connections 256;
}

http {
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path       $TMP/tmp/proxy;
    fastcgi_temp_path     $TMP/tmp/fastcgi;
    uwsgi_temp_path       $TMP/tmp/uwsgi;
    scgi_temp_path        $TMP/tmp/scgi;

    log_format chash '\$request_uri\t\$upstream_addr\t\$status\t\$upstream_status';
    access_log off;
    default_type text/plain;

$(upstream_block three)

$(upstream_block ten)

$(for p in $BACKEND_PORTS; do
    echo "    server { listen 127.0.0.1:$p; location / { return 200 \"\$server_port\\n\"; } }"
done)

    server {
        listen 127.0.0.1:$FRONT_THREE;
        access_log $TMP/logs/three.log chash;
        location / {
            proxy_pass http://three;
            proxy_next_upstream off;   # a failure must show up, not be re-routed
        }
    }

    server {
        listen 127.0.0.1:$FRONT_TEN;
        access_log $TMP/logs/ten.log chash;
        location / {
            proxy_pass http://ten;
            proxy_next_upstream off;
        }
    }
}
EOF

"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" -t -q
"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" &
NGINX_PID=$!

ready=""
for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$FRONT_TEN/__ready" 2>/dev/null &&
       curl -fsS -o /dev/null "http://127.0.0.1:$FRONT_THREE/__ready" 2>/dev/null; then
        ready=1; break
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || { echo "nginx exited early" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$ready" ]] || { echo "nginx did not become ready" >&2; exit 1; }
# Forget the readiness probes: reopen logs with fresh files.
: >"$TMP/logs/three.log"
: >"$TMP/logs/ten.log"

# Deterministic list of exactly 2000 request URIs (the hash key is the whole
# $request_uri, query string included). Only characters curl sends verbatim.
gen_paths() {
    local fixed=(
        / /index.html /a /b /c /A /favicon.ico /robots.txt /health /healthz
        /api /api/ /api/users /api/users/1 /api/users/2 /api/users/42
        /api/v1/orders/12345 /api/v2/orders/12345/items /static/js/app.js
        /static/css/site.css /images/logo.png /login /logout /admin/
        /search?q=nginx /search?q=hello+world
        "/search?q=a&page=2" "/search?page=2&q=a" /?x=1 /a?b=c /a/b/c/d/e/f/g
        /caf%C3%A9 /%E4%BD%A0%E5%A5%BD /file%20name.txt /UPPER/Case/Path
        "/p;jsessionid=ABC123" /~user/home /a-b_c.d~e "/x?y=1;z=2"
        /0 /1 /00 /000000000000 /very/long/path/segment/that/keeps/going/on/and/on/for/a/while/to/exercise/longer/keys/than/usual/1234567890
    )
    local n=0 p i
    for p in "${fixed[@]}"; do echo "$p"; n=$((n + 1)); done
    for i in $(seq 0 199); do echo "/search?q=$i"; n=$((n + 1)); done  # includes /search?q=1
    for i in $(seq 0 99); do echo "/api/users/$i/profile?fields=name,email&v=$i"; n=$((n + 1)); done
    i=0
    while (( n < 2000 )); do echo "/item/$i"; n=$((n + 1)); i=$((i + 1)); done
}
gen_paths >"$TMP/paths.txt"
NPATHS=$(wc -l <"$TMP/paths.txt")
[[ "$NPATHS" -eq 2000 ]] || { echo "internal error: $NPATHS paths" >&2; exit 1; }
if [[ $(sort -u "$TMP/paths.txt" | wc -l) -ne 2000 ]]; then
    echo "internal error: duplicate paths" >&2; exit 1
fi

# One curl process per front, sequential keep-alive requests, driven by a
# config file. --path-as-is / --globoff: send the URIs byte-for-byte.
for front in "three:$FRONT_THREE" "ten:$FRONT_TEN"; do
    set_name=${front%%:*}; port=${front##*:}
    {
        echo 'path-as-is'
        echo 'globoff'
        echo 'silent'
        echo 'show-error'
        while IFS= read -r p; do
            printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$port" "$p"
        done <"$TMP/paths.txt"
    } >"$TMP/curl-$set_name.cfg"
    curl --config "$TMP/curl-$set_name.cfg"
done

# Stop nginx (graceful) so that the access logs are complete and flushed.
kill -QUIT "$NGINX_PID"
wait "$NGINX_PID" || true
NGINX_PID=""

# Validate the logs: every request answered 200 by exactly one upstream, and
# nginx saw exactly the URIs we sent, in order.
for set_name in three ten; do
    log="$TMP/logs/$set_name.log"
    if ! awk -F'\t' 'NF != 4 || $3 != "200" || $4 != "200" || $2 ~ /[ ,]/ || $2 !~ /^127\.0\.0\.1:180[01][0-9]$/ { bad++ } END { exit bad > 0 }' "$log"; then
        echo "unexpected access log lines for $set_name:" >&2
        awk -F'\t' 'NF != 4 || $3 != "200" || $4 != "200" || $2 ~ /[ ,]/' "$log" | head >&2
        exit 1
    fi
    if ! cut -f1 "$log" | cmp -s - "$TMP/paths.txt"; then
        echo "request_uri in $set_name log differs from the paths sent:" >&2
        diff <(cut -f1 "$log") "$TMP/paths.txt" | head >&2
        exit 1
    fi
done

mkdir -p "$(dirname "$OUT")"
{
    echo "# nginx consistent-hash upstream selection test vectors"
    echo "# Captured from a real nginx by test/tools/capture-nginx-vectors.sh;"
    echo "# the chosen server is nginx's own \$upstream_addr from its access log."
    echo "# nginx version: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
    echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# upstream config: hash \$request_uri consistent; key = full \$request_uri (path + query)"
    echo "# upstream definitions, in config order (set<TAB>server text<TAB>weight):"
    for u in "${UPSTREAMS[@]}"; do
        read -r set srv w <<<"$u"
        printf '#\tupstream\t%s\t%s\t%s\n' "$set" "$srv" "$w"
    done
    echo "# i.e. upstream three { server 127.0.0.1:18001 weight=1; server 127.0.0.1:18002 weight=1; server 127.0.0.1:18003 weight=2; }"
    echo "#      upstream ten   { server 127.0.0.1:18001 weight=1; ... server 127.0.0.1:18010 weight=1; }"
    echo "# data lines: set<TAB>request_uri<TAB>chosen_server_address"
    for set_name in three ten; do
        awk -F'\t' -v s="$set_name" 'BEGIN { OFS = "\t" } { print s, $1, $2 }' "$TMP/logs/$set_name.log"
    done
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"

echo "wrote $(grep -vc '^#' "$OUT") data lines to $OUT" >&2
for set_name in three ten; do
    echo "$set_name:" >&2
    awk -F'\t' -v s="$set_name" '$1 == s { c[$3]++ } END { for (k in c) printf "  %s\t%d\n", k, c[k] }' "$OUT" | sort >&2
done
