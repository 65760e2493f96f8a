#!/usr/bin/env bash
# Soak: mixed GET and POST load on the balancer while its configuration is reloaded and its
# backends are killed and restarted, watching for failed requests and for file descriptors or
# memory that do not come back.
#
# Usage: bash perf/soak/run.sh [--duration S] [--skip-build] [--kill-every S] [--reload-every S]
#                              [--max-fd-growth N] [--max-rss-growth-mb N]
#   --duration S          load time in seconds (default 60; 10..3600)
#   --skip-build          do not run `dotnet build` first
#   --kill-every S        SIGKILL one backend every S seconds (default 6; s1, s2, s3 in turn),
#                         restarted on its port 2 s later
#   --reload-every S      rewrite lb.json (backend s3's weight 1 <-> 2) and send SIGHUP every S
#                         seconds (default 3)
#   --max-fd-growth N     largest accepted rise of the balancer's open descriptors from the first
#                         sample under load to the last (default 64)
#   --max-rss-growth-mb N the same for its resident memory (default 64)
#
# Needs wrk, python3 and curl; nginx (nginx-light) for the backends, else three
# `pipebalancer demo-backend` processes. Everything listens on 127.0.0.1 on free ports; every
# process it starts is killed when it ends, also on Ctrl-C.
#
# The balancer (Release build, `pipebalancer serve`, default settings) has three backends. Two
# wrk processes run side by side: GETs (-t1 -c8) and POSTs with a 1 KB body (-t1 -c4), each over
# 1,000 paths, with a 5 s request timeout. Every 5 s the balancer's open descriptors
# (/proc/PID/fd) and resident memory (VmRSS) are sampled.
#
# Exit 0 when: no GET failed (wrk's connect, read, write and timeout errors, and statuses of 400
# and above); POST failures are at most one per POST connection per backend kill (a POST in flight
# when its backend dies is answered 502, or its connection aborted, and is never retried: by
# design) with no POST connect or timeout errors; every reload was applied; descriptors and RSS
# ended within the bounds above of their first sample under load; and the balancer's log holds
# no stack trace. Exit 1 otherwise, 2 on bad usage.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1

duration=60 skip_build=0 kill_every=6 reload_every=3 max_fd_growth=64 max_rss_growth_mb=64
usage() { sed -n '6,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
int_arg() { [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "soak: $1 needs a whole number, got '${2:-}'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) int_arg "$1" "${2:-}"; duration=$2; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --kill-every) int_arg "$1" "${2:-}"; kill_every=$2; shift 2 ;;
    --reload-every) int_arg "$1" "${2:-}"; reload_every=$2; shift 2 ;;
    --max-fd-growth) int_arg "$1" "${2:-}"; max_fd_growth=$2; shift 2 ;;
    --max-rss-growth-mb) int_arg "$1" "${2:-}"; max_rss_growth_mb=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "soak: unknown option '$1'" >&2; usage ;;
  esac
done
if [ "$duration" -lt 10 ] || [ "$duration" -gt 3600 ]; then echo "soak: --duration must be 10..3600 seconds, got $duration" >&2; exit 2; fi
if [ "$kill_every" -lt 3 ]; then echo "soak: --kill-every must be at least 3 (a killed backend is restarted after 2 s)" >&2; exit 2; fi
if [ "$reload_every" -lt 1 ]; then echo "soak: --reload-every must be at least 1" >&2; exit 2; fi
for tool in wrk python3 curl; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is needed (apt-get install $tool)" >&2; exit 127; }
done
log() { echo "soak: $*" >&2; }

if [ "$skip_build" = 0 ]; then
  log "building (Release)"
  dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -v quiet -nologo >&2 || exit 1
fi
dll="$root/src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll"
[ -f "$dll" ] || { log "$dll is missing (run without --skip-build)"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipebalancer-soak.XXXXXX")" || exit 1
pids=()
backend_pid=("" "" "" "")
cleanup() {
  local p
  for p in "${pids[@]}" "${backend_pid[@]}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

mapfile -t ports < <(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print("\n".join(str(x.getsockname()[1]) for x in s))')
bport=("" "${ports[0]}" "${ports[1]}" "${ports[2]}") lb=${ports[3]} admin=${ports[4]}

wait_port() { # PID PORT SECONDS: until PORT accepts, as long as PID lives
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# One process per backend, so that one can be killed alone. nginx runs without a master
# process: SIGKILL then leaves no worker behind holding the port.
have_nginx=0; command -v nginx >/dev/null && have_nginx=1
start_backend() { # N
  local n=$1 port=${bport[$1]} d="$tmp/s$1"
  if [ "$have_nginx" = 1 ]; then
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<NGINX
master_process off; daemon off; worker_processes 1; pid $d/nginx.pid; error_log $d/error.log error;
events { worker_connections 4096; }
http { access_log off; default_type text/plain; keepalive_requests 100000; keepalive_timeout 60s;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fcgi; uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  server { listen 127.0.0.1:$port; location / { return 200 "hello from s$n\n"; } } }
NGINX
    nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >/dev/null 2>>"$tmp/backends.err" &
  else
    dotnet "$dll" demo-backend --address "127.0.0.1:$port" --id "s$n" >/dev/null 2>>"$tmp/backends.err" &
  fi
  backend_pid[$n]=$!
}

write_config() { # WEIGHT of s3
  cat >"$tmp/lb.json.new" <<JSON
{ "listeners": [ { "name": "web", "address": "127.0.0.1:$lb" } ], "admin": { "address": "127.0.0.1:$admin" },
  "backends": [ { "id": "s1", "address": "127.0.0.1:${bport[1]}" }, { "id": "s2", "address": "127.0.0.1:${bport[2]}" },
                { "id": "s3", "address": "127.0.0.1:${bport[3]}", "weight": $1 } ] }
JSON
  mv "$tmp/lb.json.new" "$tmp/lb.json"
}

for n in 1 2 3; do
  start_backend "$n"
  wait_port "${backend_pid[$n]}" "${bport[$n]}" 15 || { log "backend s$n did not start:"; cat "$tmp/backends.err" >&2; exit 1; }
done
log "backends s1..s3 ($([ "$have_nginx" = 1 ] && echo nginx || echo demo-backend)) on 127.0.0.1:${bport[1]},${bport[2]},${bport[3]}"
write_config 1
dotnet "$dll" serve --config "$tmp/lb.json" >"$tmp/lb.log" 2>&1 &
lb_pid=$!; pids+=("$lb_pid")
wait_port "$lb_pid" "$lb" 30 || { log "the balancer did not start:"; tail -n 30 "$tmp/lb.log" >&2; exit 1; }
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$admin/readyz" && break; sleep 0.1; done
log "balancer pid $lb_pid on 127.0.0.1:$lb (admin $admin); load for ${duration}s, a reload every ${reload_every}s, a backend killed every ${kill_every}s"

# Counts statuses of 400 and above per thread; done() prints them (wrk counts them only as one sum).
cat >"$tmp/soak.lua" <<'LUA'
local method = os.getenv("SOAK_METHOD") or "GET"
local payload = string.rep("x", 1024)
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = {}; n = 0 end
function request()
  n = n + 1
  if method == "POST" then
    return wrk.format("POST", "/p/" .. (n % 1000), { ["Content-Type"] = "text/plain" }, payload)
  end
  return wrk.format("GET", "/g/" .. (n % 1000))
end
function response(status, headers, body)
  if status >= 400 then failed[status] = (failed[status] or 0) + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("failed")) do io.write(string.format("status %d %d\n", status, count)) end
  end
end
LUA
SOAK_METHOD=GET wrk -t1 -c8 -d"${duration}s" --timeout 5s -s "$tmp/soak.lua" "http://127.0.0.1:$lb/" >"$tmp/get.txt" 2>&1 &
get_pid=$!; pids+=("$get_pid")
SOAK_METHOD=POST wrk -t1 -c4 -d"${duration}s" --timeout 5s -s "$tmp/soak.lua" "http://127.0.0.1:$lb/" >"$tmp/post.txt" 2>&1 &
post_pid=$!; pids+=("$post_pid")

sample() { # T: one row of the table
  local fds rss stats
  fds=$(ls "/proc/$lb_pid/fd" 2>/dev/null | wc -l)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$lb_pid/status" 2>/dev/null)
  stats=$(curl -s -m 2 "http://127.0.0.1:$admin/api/stats" | python3 -c 'import json, sys
try:
    t = json.load(sys.stdin)["totals"]; print(t["requests"], t["openConnections"])
except Exception:
    print("? ?")')
  echo "$1 $fds ${rss:-0} $reloads $kills $stats" >>"$tmp/samples.txt"
}

reloads=0 kills=0 weight=1 victim=0 down=0 down_since=0
start=$(date +%s)
for ((t = 1; t <= duration; t++)); do
  # Sleep to the next whole second of the run rather than 1 s, so the schedule does not drift.
  now=$(date +%s.%N)
  delay=$(awk -v s="$start" -v t="$t" -v n="$now" 'BEGIN { d = s + t - n; print (d > 0 ? d : 0) }')
  sleep "$delay"
  kill -0 "$lb_pid" 2>/dev/null || { log "the balancer exited at ${t}s:"; tail -n 30 "$tmp/lb.log" >&2; break; }
  if [ "$down" != 0 ] && [ $((t - down_since)) -ge 2 ]; then
    start_backend "$down"; down=0
  fi
  if [ $((t % reload_every)) -eq 0 ]; then
    weight=$((3 - weight)); write_config "$weight"; kill -HUP "$lb_pid"; reloads=$((reloads + 1))
  fi
  if [ $((t % kill_every)) -eq 0 ] && [ "$down" = 0 ] && [ $((t + 2)) -lt "$duration" ]; then
    victim=$((victim % 3 + 1))
    kill -KILL "${backend_pid[$victim]}" 2>/dev/null; wait "${backend_pid[$victim]}" 2>/dev/null
    down=$victim; down_since=$t; kills=$((kills + 1))
  fi
  [ $((t % 5)) -eq 0 ] && sample "$t"
done
wait "$get_pid" "$post_pid" 2>/dev/null
sleep 1
curl -s -m 2 "http://127.0.0.1:$admin/api/stats" >"$tmp/stats.json"
generation=$(python3 -c 'import json, sys
try: print(json.load(open(sys.argv[1]))["generation"])
except Exception: print(0)' "$tmp/stats.json")
balancer_view=$(python3 -c 'import json, sys
try:
    t = json.load(open(sys.argv[1]))["totals"]
    print("retries %d; backend errors: %s" % (t["retries"], ", ".join("%s %d" % kv for kv in t["backendErrors"].items())))
except Exception as e:
    print("stats unreadable (%s)" % e)' "$tmp/stats.json")
sample "after"

# wrk's summary: "Socket errors: connect C, read R, write W, timeout T" and "Non-2xx or 3xx responses: N".
errors() { # FILE -> "requests connect read write timeout non2xx"
  awk '$2 == "requests" && $3 == "in" { req = $1 }
       /Socket errors/ { gsub(",", ""); c = $4; r = $6; w = $8; to = $10 }
       /Non-2xx or 3xx/ { nx = $NF }
       END { printf "%d %d %d %d %d %d\n", req, c, r, w, to, nx }' "$1"
}
read -r g_req g_conn g_read g_write g_to g_non <<<"$(errors "$tmp/get.txt")"
read -r p_req p_conn p_read p_write p_to p_non <<<"$(errors "$tmp/post.txt")"
statuses() { awk '$1 == "status" { printf "%s%s x%s", sep, $2, $3; sep = ", " }' "$1"; }
traces=$(grep -c '^ *at ' "$tmp/lb.log")

echo "Soak run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) cores, ${duration}s,"
echo "backends: $([ "$have_nginx" = 1 ] && echo "nginx (one process each)" || echo "pipebalancer demo-backend"); $reloads reloads (SIGHUP), $kills backend kills (SIGKILL, restart after 2 s)"
echo
echo "| load | requests | connect | read | write | timeout | status >= 400 | statuses |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
echo "| GET -c8 | $g_req | $g_conn | $g_read | $g_write | $g_to | $g_non | $(statuses "$tmp/get.txt") |"
echo "| POST -c4 | $p_req | $p_conn | $p_read | $p_write | $p_to | $p_non | $(statuses "$tmp/post.txt") |"
echo
echo "| t (s) | fds | RSS (MB) | reloads | kills | requests (balancer) | open connections |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
awk '{ printf "| %s | %s | %.1f | %s | %s | %s | %s |\n", $1, $2, $3 / 1024, $4, $5, $6, $7 }' "$tmp/samples.txt"
echo

failures=()
[ $((g_conn + g_read + g_write + g_to + g_non)) -eq 0 ] || failures+=("GET requests failed")
[ "$g_req" -gt 0 ] && [ "$p_req" -gt 0 ] || failures+=("wrk made no requests (see its output below)")
post_failed=$((p_read + p_write + p_non))
post_allowed=$((kills * 4))
[ $((p_conn + p_to)) -eq 0 ] || failures+=("POST connect or timeout errors")
[ "$post_failed" -le "$post_allowed" ] || failures+=("$post_failed POST failures, more than one per POST connection per kill ($post_allowed)")
[ "$generation" -ge $((reloads + 1)) ] || failures+=("generation $generation after $reloads reloads: some reload was not applied")
[ "$traces" -eq 0 ] || failures+=("$traces stack-trace lines in the balancer's log")
first=$(awk '$1 != "after" { print $2, $3; exit }' "$tmp/samples.txt")
last=$(awk '$1 != "after" { l = $2 " " $3 } END { print l }' "$tmp/samples.txt")
read -r fd0 rss0 <<<"$first"; read -r fd1 rss1 <<<"$last"
[ $((fd1 - fd0)) -le "$max_fd_growth" ] || failures+=("descriptors rose from $fd0 to $fd1 (bound +$max_fd_growth)")
[ $(((rss1 - rss0) / 1024)) -le "$max_rss_growth_mb" ] || failures+=("RSS rose from $((rss0 / 1024)) to $((rss1 / 1024)) MB (bound +$max_rss_growth_mb MB)")
echo "POST failures (read, write, status >= 400): $post_failed, accepted up to $post_allowed (4 connections x $kills kills: in flight when their backend died, not retried by design)"
echo "the balancer's counters: $balancer_view"
echo "config generation $generation after $reloads reloads; fds $fd0 -> $fd1, RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MB (first to last sample under load); stack traces in the log: $traces"
if [ "${#failures[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failures[@]}"
  if [ "$traces" -gt 0 ]; then grep -m 3 -B 2 -A 6 '^ *at ' "$tmp/lb.log"; fi
  [ "$g_req" -gt 0 ] && [ "$p_req" -gt 0 ] || cat "$tmp/get.txt" "$tmp/post.txt"
  exit 1
fi
echo "PASSED"
