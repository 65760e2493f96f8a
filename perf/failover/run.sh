#!/usr/bin/env bash
# Failover under load: how many requests fail when a backend dies, how long until the balancer
# stops sending it anything, and how long until its keys return after it restarts.
#
# Usage: bash perf/failover/run.sh [--skip-build]   (needs wrk and python3; loopback only)
#
# Three sample backends (`pipebalancer demo-backend`, one process each, so one can be killed),
# the balancer with default settings (health checks every 2 s, rise 2, fall 3; circuit opens
# after 5 failures in a row), and wrk -t1 -c8 for 20 s over 1,000 paths. At 5 s backend s1 is
# killed (SIGKILL: no goodbye); at 12 s it is started again on the same port. A poller reads
# /api/stats every 50 ms and records when s1 stops and starts being eligible.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
command -v wrk >/dev/null || { echo "failover: wrk is needed: apt-get install wrk" >&2; exit 127; }
command -v python3 >/dev/null || { echo "failover: python3 is needed" >&2; exit 127; }
[ "${1:-}" = "--skip-build" ] || dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -v quiet -nologo >&2 || exit 1
dll="$root/src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

mapfile -t ports < <(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print("\n".join(str(x.getsockname()[1]) for x in s))')
b1=${ports[0]} b2=${ports[1]} b3=${ports[2]} lb=${ports[3]} admin=${ports[4]}
cat >"$tmp/lb.json" <<JSON
{ "listeners": [ { "name": "web", "address": "127.0.0.1:$lb" } ], "admin": { "address": "127.0.0.1:$admin" },
  "backends": [ { "id": "s1", "address": "127.0.0.1:$b1" }, { "id": "s2", "address": "127.0.0.1:$b2" }, { "id": "s3", "address": "127.0.0.1:$b3" } ] }
JSON
start_backend() { dotnet "$dll" demo-backend --address "127.0.0.1:$2" --id "$1" >/dev/null 2>&1 & echo $!; }
s1_pid=$(start_backend s1 "$b1"); pids+=("$s1_pid")
pids+=("$(start_backend s2 "$b2")" "$(start_backend s3 "$b3")")
dotnet "$dll" serve --config "$tmp/lb.json" >"$tmp/lb.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$lb/" && break; sleep 0.1; done
sleep 5 # the first health checks decide (rise 2 at 2 s)

cat >"$tmp/paths.lua" <<'LUA'
local i = 0
request = function() i = i + 1; return wrk.format("GET", "/f/" .. (i % 1000)) end
LUA
python3 - "$admin" "$tmp/events.txt" <<'PY' &
import json, sys, time, urllib.request
url, out = f"http://127.0.0.1:{sys.argv[1]}/api/stats", sys.argv[2]
start, last = time.time(), None
with open(out, "w") as f:
    while time.time() - start < 22:
        try:
            s1 = next(b for b in json.load(urllib.request.urlopen(url, timeout=1))["backends"] if b["id"] == "s1")
            state = (s1["eligible"], s1["health"], s1["circuit"])
            if state != last:
                f.write(f"{time.time():.3f} {state[0]} {state[1]} {state[2]}\n"); f.flush(); last = state
        except Exception:
            pass
        time.sleep(0.05)
PY
pids+=($!)
wrk -t1 -c8 -d20s -s "$tmp/paths.lua" "http://127.0.0.1:$lb/" >"$tmp/wrk.txt" 2>&1 & wrk_pid=$!
sleep 5; kill_at=$(date +%s.%N); kill -KILL "$s1_pid"
sleep 7; restart_at=$(date +%s.%N); s1_pid=$(start_backend s1 "$b1"); pids+=("$s1_pid")
wait "$wrk_pid"; sleep 2

requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$tmp/wrk.txt")
non2xx=$(awk '/Non-2xx/ { print $NF }' "$tmp/wrk.txt"); sockerr=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$tmp/wrk.txt")
out_at=$(awk '$2 == "False" { print $1; exit }' "$tmp/events.txt")
back_at=$(awk -v r="$restart_at" '$1 > r && $2 == "True" { print $1; exit }' "$tmp/events.txt")
echo "Failover run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) cores"
echo
echo "| requests | failed (non-2xx + socket errors) | kill -> s1 no longer eligible | restart -> s1 eligible again |"
echo "|---:|---:|---:|---:|"
awk -v n="$requests" -v f="$(( ${non2xx:-0} + ${sockerr:-0} ))" -v k="$kill_at" -v o="${out_at:-0}" -v r="$restart_at" -v b="${back_at:-0}" \
  'BEGIN { printf "| %s | %s | %s | %s |\n", n, f, (o > 0 ? sprintf("%.2f s", o - k) : "never"), (b > 0 ? sprintf("%.2f s", b - r) : "not within the run") }'
echo
echo "s1 transitions (time since kill: eligible health circuit):"
awk -v k="$kill_at" '{ printf "  %+.2f s: %s %s %s\n", $1 - k, $2, $3, $4 }' "$tmp/events.txt"
