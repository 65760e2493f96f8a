#!/usr/bin/env bash
# PipeBalancer load harness: wrk against the balancer, HAProxy and nginx, all on 127.0.0.1.
#
# Usage:
#   ./build.sh load [options]          (or: bash perf/load/run.sh [options])
#
# Options:
#   --duration S      measured seconds per target (default 8; each target also gets a warm-up)
#   --warmup S        seconds of wrk before each measured run (default 2). The JIT build is still
#                     compiling in its first half-minute; --warmup 30 measures it in steady state
#   --connections N   wrk connections (default 64; wrk always runs one thread: -t1)
#   --paths N         distinct request paths /p/0 .. /p/N-1, cycled per request (default 10000)
#   --skip-build      do not run `dotnet build` (nor, with --aot, `./build.sh publish`) first;
#                     use the existing builds
#   --metrics-pairs N after the table, N pairs of balancer runs back to back, one plain and one
#                     with /metrics scraped every second, and the median req/s ratio (default 0)
#   --aot             also measure the Native AOT executable (artifacts/publish/linux-x64/
#                     pipebalancer, built with `./build.sh publish` unless --skip-build) as the
#                     row pipebalancer-aot: same config, its own ports
#   --aot-pairs N     implies --aot; after the table, N pairs of runs back to back, one per
#                     build (JIT first in odd pairs, AOT first in even ones), and the median
#                     AOT/JIT ratios of req/s and CPU per request (default 0)
#   --haproxy-pairs N after the table, N pairs of runs back to back, pipebalancer (JIT) and
#                     HAProxy (order flipped every pair), and the median ratios of req/s, CPU
#                     per request and p99: the comparison least moved by a noisy machine
#   -h, --help        this text
#
# Requirements (the harness installs nothing; with --aot, `./build.sh publish` installs clang
# and zlib1g-dev when they are missing):
#   wrk               required                 apt-get install wrk
#   nginx             optional (nginx-light)   apt-get install nginx-light
#   haproxy           optional                 apt-get install haproxy
#   python3, dotnet   to pick free ports and to build/run the balancer
#
# What it does:
#   1. Three fast backends s1..s3 on free loopback ports: one nginx process (worker_processes 1,
#      three server blocks answering `return 200 "hello from sN\n"`), or, without nginx,
#      three `pipebalancer demo-backend` processes.
#   2. The balancer (`pipebalancer serve`) with a temporary lb.json: ring / xxhash3 / key path
#      over s1..s3 (with --aot, the Native AOT build too, on its own ports). If it fails to
#      build or start, its row says so and the other targets are still measured (the script
#      then exits 1).
#   3. Peers in front of the same backends: HAProxy (nbthread 2, balance uri, hash-type
#      consistent, http-reuse always) and nginx (worker_processes 2, hash $request_uri
#      consistent, upstream keepalive 64), each only if installed.
#   4. Per target, in order direct (backend s1), pipebalancer, pipebalancer-aot, haproxy,
#      nginx: a 2 s wrk warm-up, then `wrk -t1 -cN -dSs --latency -s perf/load/paths.lua`. Measured: req/s,
#      p50/p99 latency, errors (non-2xx/3xx + socket errors) and the proxy's CPU time per
#      request (utime+stime from /proc/PID/stat of all its processes over the measured run);
#      for the balancer, its RSS after the run (VmRSS of /proc/PID/status).
#   5. Prints a markdown table and saves it to perf/load/results/last.md.
#
# Every process it starts is killed on exit and its temp dir removed. With the defaults the
# whole run takes about a minute (plus the build). Configs and logs are kept in the temp dir
# only while the run lasts; set PB_LOAD_KEEP_TMP=1 to keep it for inspection.
#
# Exit codes: 0 all available targets measured, 1 a target failed (the table is still
# printed), 64 bad options, 127 wrk (or python3) missing.

set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

duration=8
connections=64
paths=10000
skip_build=0
metrics_pairs=0
aot=0
aot_pairs=0
haproxy_pairs=0
warmup=2

usage() { sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
log() { printf 'load: %s\n' "$*" >&2; }

positive_int() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
  case "$1" in
    --duration|--connections|--paths|--warmup)
      if [ $# -lt 2 ] || ! positive_int "$2"; then
        log "$1 needs a positive integer"; exit 64
      fi
      case "$1" in
        --duration) duration="$2" ;;
        --warmup) warmup="$2" ;;
        --connections) connections="$2" ;;
        --paths) paths="$2" ;;
      esac
      shift 2
      ;;
    --duration=*|--connections=*|--paths=*|--warmup=*)
      opt="${1%%=*}" val="${1#*=}"
      if ! positive_int "$val"; then log "$opt needs a positive integer"; exit 64; fi
      case "$opt" in
        --duration) duration="$val" ;;
        --warmup) warmup="$val" ;;
        --connections) connections="$val" ;;
        --paths) paths="$val" ;;
      esac
      shift
      ;;
    --skip-build) skip_build=1; shift ;;
    --metrics-pairs)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then log "--metrics-pairs needs a number"; exit 64; fi
      metrics_pairs="$2"; shift 2
      ;;
    --aot) aot=1; shift ;;
    --haproxy-pairs)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then log "--haproxy-pairs needs a number"; exit 64; fi
      haproxy_pairs="$2"; shift 2
      ;;
    --aot-pairs)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then log "--aot-pairs needs a number"; exit 64; fi
      aot_pairs="$2"; shift 2
      [ "$aot_pairs" -gt 0 ] && aot=1
      ;;
    -h|--help) usage; exit 0 ;;
    *) log "unknown option '$1' (see --help)"; exit 64 ;;
  esac
done

# ---------------------------------------------------------------- tools

if ! command -v wrk >/dev/null 2>&1; then
  echo "load: wrk is not installed: apt-get install wrk" >&2
  exit 127
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "load: python3 is needed to pick free ports: apt-get install python3" >&2
  exit 127
fi
have_nginx=0; command -v nginx >/dev/null 2>&1 && have_nginx=1
have_haproxy=0; command -v haproxy >/dev/null 2>&1 && have_haproxy=1
notes=()
if [ "$have_nginx" = 0 ]; then
  log "nginx not installed: using pipebalancer demo-backend (and no nginx row; apt-get install nginx-light)"
  notes+=("nginx: not installed, row skipped; backends were \`pipebalancer demo-backend\` (apt-get install nginx-light)")
fi
if [ "$have_haproxy" = 0 ]; then
  log "haproxy not installed: skipping the haproxy row (apt-get install haproxy)"
  notes+=("haproxy: not installed, row skipped (apt-get install haproxy)")
fi

lua="$here/paths.lua"
dll="$root/src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll"
aot_bin="$root/artifacts/publish/linux-x64/pipebalancer"
clk_tck="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- processes and cleanup

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipebalancer-load.XXXXXX")" || exit 1
started=()   # pids this script started (their children are found with pgrep -P)

# The kernel start time of a pid (field 22 of /proc/PID/stat), to never signal a reused pid.
start_time() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  local -a f
  read -r -a f <<<"$s"
  echo "${f[19]}"
}

# True while the pid runs (a zombie - exited, not yet reaped - counts as gone).
alive() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  [ "${s:0:1}" != Z ]
}

cleanup() {
  local pid child
  local -A born=()
  for pid in "${started[@]}"; do
    born[$pid]="$(start_time "$pid")" || continue
    for child in $(pgrep -P "$pid" 2>/dev/null); do
      born[$child]="$(start_time "$child")" || true
    done
  done
  [ -n "${wrk_pid:-}" ] && kill -TERM "$wrk_pid" 2>/dev/null
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local i left
  for ((i = 0; i < 30; i++)); do
    left=0
    for pid in "${!born[@]}"; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for pid in "${!born[@]}"; do
    if alive "$pid" && [ "$(start_time "$pid")" = "${born[$pid]}" ]; then
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  wait 2>/dev/null
  if [ "${PB_LOAD_KEEP_TMP:-0}" = 1 ]; then
    log "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints N distinct free loopback ports, one a line (all bound at once, so no duplicates).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# wait_port PID PORT SECONDS: 0 when 127.0.0.1:PORT accepts, 1 if PID exited, 2 on timeout.
wait_port() {
  local deadline=$((SECONDS + $3))
  while :; do
    alive "$1" || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    [ "$SECONDS" -ge "$deadline" ] && return 2
    sleep 0.1
  done
}

# The pids whose CPU is charged to a target: the process and its direct children
# (nginx/haproxy master + workers).
family() {
  echo "$1"
  pgrep -P "$1" 2>/dev/null
}

# Sum of utime+stime (fields 14 and 15 of /proc/PID/stat, clock ticks) over the given pids.
cpu_ticks() {
  local total=0 pid s
  local -a f
  for pid in "$@"; do
    s="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    s="${s##*) }"           # drop "pid (comm) ": f[0] is field 3
    read -r -a f <<<"$s"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# Reads a pid file, waiting briefly for it to appear.
read_pidfile() {
  local i
  for ((i = 0; i < 50; i++)); do
    if [ -s "$1" ]; then tr -dc '0-9' <"$1"; return 0; fi
    sleep 0.1
  done
  return 1
}

mapfile -t ports < <(free_ports 9)
if [ "${#ports[@]}" -ne 9 ]; then log "could not pick free ports"; exit 1; fi
b1="${ports[0]}" b2="${ports[1]}" b3="${ports[2]}"
lb_port="${ports[3]}" admin_port="${ports[4]}" haproxy_port="${ports[5]}" nginx_port="${ports[6]}"
aot_port="${ports[7]}" aot_admin_port="${ports[8]}"

# ---------------------------------------------------------------- build

balancer_status=""      # empty, or why the balancer row could not be measured
if [ "$skip_build" = 0 ]; then
  log "building the balancer (Release)"
  if ! dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -nologo -v quiet >"$tmp/build.log" 2>&1; then
    tail -n 30 "$tmp/build.log" >&2
    log "the balancer failed to build"
    balancer_status="failed to build"
  fi
fi
if [ -z "$balancer_status" ] && [ ! -f "$dll" ]; then
  log "$dll does not exist (run without --skip-build)"
  balancer_status="not built"
fi
aot_status=""           # the same for the Native AOT build (with --aot)
if [ "$aot" = 1 ] && [ "$skip_build" = 0 ]; then
  log "publishing the Native AOT build (./build.sh publish)"
  if ! bash "$root/build.sh" publish >"$tmp/publish.log" 2>&1; then
    tail -n 30 "$tmp/publish.log" >&2
    log "the Native AOT build failed"
    aot_status="failed to build"
  fi
fi
if [ "$aot" = 1 ] && [ -z "$aot_status" ] && [ ! -x "$aot_bin" ]; then
  log "$aot_bin does not exist (run without --skip-build, or ./build.sh publish)"
  aot_status="not built"
fi

# ---------------------------------------------------------------- backends

backend_pids=()
if [ "$have_nginx" = 1 ]; then
  d="$tmp/nginx-backends"; mkdir -p "$d"
  {
    echo "worker_processes 1;"
    echo "daemon off;"
    echo "pid $d/nginx.pid;"
    echo "error_log $d/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http {"
    echo "  access_log off;"
    echo "  default_type text/plain;"
    echo "  keepalive_requests 100000;"
    echo "  keepalive_timeout 60s;"
    echo "  client_body_temp_path $d/client_body;"
    echo "  proxy_temp_path $d/proxy;"
    echo "  fastcgi_temp_path $d/fastcgi;"
    echo "  uwsgi_temp_path $d/uwsgi;"
    echo "  scgi_temp_path $d/scgi;"
    n=1
    for p in "$b1" "$b2" "$b3"; do
      echo "  server { listen 127.0.0.1:$p; location / { return 200 \"hello from s$n\\n\"; } }"
      n=$((n + 1))
    done
    echo "}"
  } >"$d/nginx.conf"
  log "starting nginx backends s1..s3 on 127.0.0.1:$b1,$b2,$b3"
  nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>"$d/stderr.log" &
  started+=("$!")
  launcher=$!
  for p in "$b1" "$b2" "$b3"; do
    if ! wait_port "$launcher" "$p" 10; then
      log "the nginx backends failed to start:"
      cat "$d/stderr.log" "$d/error.log" 2>/dev/null >&2
      exit 1
    fi
  done
  master="$(read_pidfile "$d/nginx.pid")" || master="$launcher"
  backend_pids=("$master")
else
  if [ -n "$balancer_status" ]; then
    log "pipebalancer demo-backend needs the balancer build, which is missing ($balancer_status)"
    exit 1
  fi
  n=1
  for p in "$b1" "$b2" "$b3"; do
    dotnet "$dll" demo-backend --address "127.0.0.1:$p" --id "s$n" >"$tmp/demo-s$n.out" 2>"$tmp/demo-s$n.err" &
    started+=("$!")
    backend_pids+=("$!")
    if ! wait_port "$!" "$p" 15; then
      log "pipebalancer demo-backend --address 127.0.0.1:$p --id s$n failed to start:"
      cat "$tmp/demo-s$n.out" "$tmp/demo-s$n.err" >&2
      exit 1
    fi
    n=$((n + 1))
  done
fi

# ---------------------------------------------------------------- the balancer

cat >"$tmp/lb.json" <<EOF
{"listeners":[{"name":"web","address":"127.0.0.1:$lb_port","mode":"http"}],"admin":{"address":"127.0.0.1:$admin_port"},"routing":{"algorithm":"ring","hash":"xxhash3","virtualNodes":160,"key":"path"},"backends":[{"id":"s1","address":"127.0.0.1:$b1","weight":1},{"id":"s2","address":"127.0.0.1:$b2","weight":1},{"id":"s3","address":"127.0.0.1:$b3","weight":1}]}
EOF

sed -e "s/:$lb_port\"/:$aot_port\"/" -e "s/:$admin_port\"/:$aot_admin_port\"/" "$tmp/lb.json" >"$tmp/lb-aot.json"

# start_balancer NAME PORT COMMAND...: runs it in the background and waits for PORT; sets
# start_pid, and start_error when it did not come up.
start_balancer() {
  local name="$1" port="$2" code
  shift 2
  start_error=""
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  start_pid=$!
  started+=("$start_pid")
  wait_port "$start_pid" "$port" 15
  case $? in
    0) return 0 ;;
    1)
      wait "$start_pid" 2>/dev/null; code=$?
      start_error="exited with code $code: $(head -n 1 "$tmp/$name.err")"
      ;;
    *) start_error="127.0.0.1:$port did not accept connections within 15 s" ;;
  esac
  log "$name failed to start: $start_error; its output:"
  sed 's/^/  | /' "$tmp/$name.out" "$tmp/$name.err" >&2
}

balancer_pid=""
balancer_detail=""
if [ -z "$balancer_status" ]; then
  log "starting pipebalancer on 127.0.0.1:$lb_port (admin $admin_port)"
  start_balancer pipebalancer "$lb_port" dotnet "$dll" serve --config "$tmp/lb.json"
  balancer_pid="$start_pid"
  if [ -n "$start_error" ]; then balancer_status="failed to start" balancer_detail="$start_error"; fi
fi

aot_pid=""
aot_detail=""
if [ "$aot" = 1 ] && [ -z "$aot_status" ]; then
  log "starting pipebalancer-aot on 127.0.0.1:$aot_port (admin $aot_admin_port)"
  start_balancer pipebalancer-aot "$aot_port" "$aot_bin" serve --config "$tmp/lb-aot.json"
  aot_pid="$start_pid"
  if [ -n "$start_error" ]; then aot_status="failed to start" aot_detail="$start_error"; fi
fi

# ---------------------------------------------------------------- peers

haproxy_pid=""
haproxy_status=""
if [ "$have_haproxy" = 1 ]; then
  d="$tmp/haproxy"; mkdir -p "$d"
  cat >"$d/haproxy.cfg" <<EOF
global
    nbthread 2
    pidfile $d/haproxy.pid

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:$haproxy_port
    default_backend servers

backend servers
    balance uri
    hash-type consistent
    http-reuse always
    server s1 127.0.0.1:$b1
    server s2 127.0.0.1:$b2
    server s3 127.0.0.1:$b3
EOF
  log "starting haproxy on 127.0.0.1:$haproxy_port"
  haproxy -db -f "$d/haproxy.cfg" >"$d/stdout.log" 2>"$d/stderr.log" &
  haproxy_pid=$!
  started+=("$haproxy_pid")
  if ! wait_port "$haproxy_pid" "$haproxy_port" 10; then
    log "haproxy failed to start:"
    sed 's/^/  | /' "$d/stdout.log" "$d/stderr.log" >&2
    haproxy_status="failed to start"
  fi
fi

nginx_pid=""
nginx_status=""
if [ "$have_nginx" = 1 ]; then
  d="$tmp/nginx-proxy"; mkdir -p "$d"
  cat >"$d/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  client_body_temp_path $d/client_body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  upstream servers {
    hash \$request_uri consistent;
    server 127.0.0.1:$b1;
    server 127.0.0.1:$b2;
    server 127.0.0.1:$b3;
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://servers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  log "starting the nginx proxy on 127.0.0.1:$nginx_port"
  nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout.log" 2>"$d/stderr.log" &
  started+=("$!")
  launcher=$!
  if wait_port "$launcher" "$nginx_port" 10; then
    nginx_pid="$(read_pidfile "$d/nginx.pid")" || nginx_pid="$launcher"
  else
    log "the nginx proxy failed to start:"
    sed 's/^/  | /' "$d/stderr.log" "$d/error.log" >&2
    nginx_status="failed to start"
  fi
fi

# ---------------------------------------------------------------- measuring

# Latency as printed by wrk (e.g. 812.00us, 1.23ms, 1.02s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (!match(v, /^[0-9.]+/)) { print "-"; exit }
    n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000
    else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
    printf "%.2f", n }'
}

# wrk runs in the background so that a signal to this script is handled at once (cleanup
# then stops wrk too); `timeout` bounds it even if the target hangs.
wrk_pid=""
run_wrk() { # URL SECONDS OUTFILE
  timeout $(($2 + 30)) wrk -t1 -c"$connections" -d"$2s" --latency -s "$lua" "$1" -- "$paths" >"$3" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid"
  wrk_pid=""
}

names=() rps=() p50=() p99=() cpu=() errs=() states=()
balancer_notes=()   # per balancer build: allocations and RSS over its measured run

# The balancer's own counters (admin /api/stats on ADMIN-PORT): allocated bytes and requests served.
admin_stats() {
  curl -s --max-time 5 "http://127.0.0.1:$1/api/stats" 2>/dev/null ||
    python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$1/api/stats" 2>/dev/null
}

# Resident memory of PID in MB (VmRSS of /proc/PID/status).
rss_mb() {
  awk '$1 == "VmRSS:" { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

# allocation_delta BEFORE-JSON AFTER-JSON -> "N bytes/request over M requests, G gen0 GCs"
allocation_delta() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
except ValueError:
    sys.exit(0)
requests = b["totals"]["requests"] - a["totals"]["requests"]
allocated = b["process"]["allocatedBytes"] - a["process"]["allocatedBytes"]
gen0 = b["process"]["gen0Collections"] - a["process"]["gen0Collections"]
if requests > 0:
    print(f"{allocated / requests:.1f} bytes allocated per request over {requests} requests ({allocated} bytes, {gen0} gen0 GCs)")
PY
}

# measure NAME PORT PID-or-empty
measure() {
  local name="$1" port="$2" pid="$3" out="$tmp/wrk-$1.txt"
  local url="http://127.0.0.1:$port/"
  log "$name: ${warmup}s warm-up, ${duration}s measured run ($url)"
  run_wrk "$url" "$warmup" "$tmp/warmup-$name.txt"
  local -a pids=()
  [ -n "$pid" ] && mapfile -t pids < <(family "$pid")
  local before=0 after=0
  [ -n "$pid" ] && before="$(cpu_ticks "${pids[@]}")"
  local stats_before="" stats_port=""
  case "$name" in
    pipebalancer) stats_port="$admin_port" ;;
    pipebalancer-aot) stats_port="$aot_admin_port" ;;
  esac
  [ -n "$stats_port" ] && stats_before="$(admin_stats "$stats_port")"
  run_wrk "$url" "$duration" "$out"
  [ -n "$pid" ] && after="$(cpu_ticks "${pids[@]}")"
  if [ -n "$stats_port" ]; then
    local allocations=""
    [ -n "$stats_before" ] && allocations="$(allocation_delta "$stats_before" "$(admin_stats "$stats_port")")"
    balancer_notes+=("$name (measured run): ${allocations:-allocations not read}; RSS after the run $(rss_mb "$pid") MB")
  fi

  local requests r50 r99 sock non2xx
  requests="$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")"
  names+=("$name")
  if [ -z "$requests" ] || ! grep -q '^Requests/sec:' "$out"; then
    log "$name: wrk failed:"; sed 's/^/  | /' "$out" >&2
    rps+=("") p50+=("") p99+=("") cpu+=("") errs+=("") states+=("wrk failed")
    return
  fi
  rps+=("$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$out")")
  r50="$(awk '$1 == "50%" { print $2 }' "$out")"
  r99="$(awk '$1 == "99%" { print $2 }' "$out")"
  p50+=("$(to_ms "$r50")") p99+=("$(to_ms "$r99")")
  if [ -n "$pid" ] && [ "$requests" -gt 0 ]; then
    cpu+=("$(awk -v t="$((after - before))" -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')")
  else
    cpu+=("")
  fi
  sock="$(awk '$1 == "Socket" && $2 == "errors:" { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")"
  non2xx="$(awk '/^ *Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  sock="${sock:-0}" non2xx="${non2xx:-0}"
  if [ "$((sock + non2xx))" = 0 ]; then
    errs+=("0")
  else
    errs+=("$((sock + non2xx)) (non-2xx $non2xx; $(grep -o 'connect.*' "$out" | head -n 1))")
  fi
  states+=("ok")
}

skip() { # NAME STATUS
  names+=("$1") rps+=("") p50+=("") p99+=("") cpu+=("") errs+=("") states+=("$2")
}

measure direct "$b1" ""
if [ -z "$balancer_status" ]; then
  if alive "$balancer_pid"; then
    measure pipebalancer "$lb_port" "$balancer_pid"
  else
    skip pipebalancer "exited before its run"
  fi
else
  skip pipebalancer "$balancer_status"
fi
if [ "$aot" = 1 ]; then
  if [ -z "$aot_status" ]; then
    if alive "$aot_pid"; then measure pipebalancer-aot "$aot_port" "$aot_pid"; else skip pipebalancer-aot "exited before its run"; fi
  else
    skip pipebalancer-aot "$aot_status"
  fi
fi
if [ "$have_haproxy" = 1 ]; then
  if [ -z "$haproxy_status" ]; then measure haproxy "$haproxy_port" "$haproxy_pid"; else skip haproxy "$haproxy_status"; fi
fi
if [ "$have_nginx" = 1 ]; then
  if [ -z "$nginx_status" ]; then measure nginx "$nginx_port" "$nginx_pid"; else skip nginx "$nginx_status"; fi
fi

# ---------------------------------------------------------------- report

h_rps="" h_cpu=""
for i in "${!names[@]}"; do
  if [ "${names[$i]}" = haproxy ] && [ "${states[$i]}" = ok ]; then h_rps="${rps[$i]}" h_cpu="${cpu[$i]}"; fi
done
ratio() { # A B -> "A/B x" or "-"
  if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", a / b }'
}

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then commit="$commit (src/ has uncommitted changes)"; fi
cpu_model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
versions="wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
[ "$have_nginx" = 1 ] && versions="$versions, $(nginx -v 2>&1 | sed 's/.*version: //')"
[ "$have_haproxy" = 1 ] && versions="$versions, haproxy $(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }')"
backends_desc="nginx (1 worker)"; [ "$have_nginx" = 0 ] && backends_desc="pipebalancer demo-backend"

report="$tmp/report.md"
{
  echo "PipeBalancer load run $(date -u '+%Y-%m-%d %H:%M:%S UTC') | nproc $(nproc) | CPU ${cpu_model:-unknown} | kernel $(uname -r) | commit $commit | wrk -t1 -c$connections -d${duration}s --latency, $paths paths, ${warmup}s warm-up | backends: 3 x $backends_desc | $versions"
  echo
  echo "| target | req/s | p50 ms | p99 ms | CPU us/req | errors | vs haproxy req/s | vs haproxy CPU |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|"
  for i in "${!names[@]}"; do
    if [ "${states[$i]}" = ok ]; then
      c="${cpu[$i]:--}"
      vr="$(ratio "${rps[$i]}" "$h_rps")"
      vc="-"; [ -n "${cpu[$i]}" ] && vc="$(ratio "${cpu[$i]}" "$h_cpu")"
      echo "| ${names[$i]} | ${rps[$i]} | ${p50[$i]} | ${p99[$i]} | $c | ${errs[$i]} | $vr | $vc |"
    else
      echo "| ${names[$i]} | ${states[$i]} | - | - | - | - | - | - |"
    fi
  done
  if [ -n "$balancer_detail" ] || [ -n "$aot_detail" ] || [ "${#balancer_notes[@]}" -gt 0 ] || [ "${#notes[@]}" -gt 0 ]; then
    echo
    for note in "${balancer_notes[@]}"; do echo "- $note"; done
    [ -n "$balancer_detail" ] && echo "- pipebalancer: $balancer_detail"
    [ -n "$aot_detail" ] && echo "- pipebalancer-aot: $aot_detail"
    for note in "${notes[@]}"; do echo "- $note"; done
  fi
} >"$report"

# Medians of per-pair ratios: the comparisons the pair modes below report.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratios() { # NUMERATORS-ARRAY DENOMINATORS-ARRAY -> one ratio a line
  local -n a=$1 b=$2
  for i in "${!a[@]}"; do awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { if (y > 0) printf "%.4f\n", x / y }'; done
}

# Metrics cost: the same balancer, plain and while a scraper reads /metrics every second, in
# alternating runs so that drift on a noisy machine hits both sides alike.
if [ "$metrics_pairs" -gt 0 ] && [ -n "$balancer_pid" ] && alive "$balancer_pid"; then
  url="http://127.0.0.1:$lb_port/"
  plain=() scraped=() scrapes=0
  for ((pair = 1; pair <= metrics_pairs; pair++)); do
    log "metrics pair $pair/$metrics_pairs: plain run"
    run_wrk "$url" "$duration" "$tmp/pair-plain.txt"
    plain+=("$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$tmp/pair-plain.txt")")
    log "metrics pair $pair/$metrics_pairs: run with /metrics scraped every second"
    ( while :; do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$admin_port/metrics" && echo >>"$tmp/scrapes"; sleep 1; done ) &
    scraper=$!
    run_wrk "$url" "$duration" "$tmp/pair-scraped.txt"
    kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null
    scraped+=("$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$tmp/pair-scraped.txt")")
  done
  scrapes="$(wc -l <"$tmp/scrapes" 2>/dev/null || echo 0)"
  {
    echo
    echo "Metrics cost ($metrics_pairs alternating pairs of ${duration}s runs on the same balancer; $scrapes scrapes of /metrics in all):"
    echo
    echo "| pair | plain req/s | scraped every 1 s req/s | ratio |"
    echo "|---:|---:|---:|---:|"
    for i in "${!plain[@]}"; do
      echo "| $((i + 1)) | ${plain[$i]} | ${scraped[$i]} | $(ratio "${scraped[$i]}" "${plain[$i]}") |"
    done
    echo "- median scraped/plain: $(ratios scraped plain | median); sum of scraped req/s over sum of plain: $(echo "${plain[*]} | ${scraped[*]}" | awk -F'|' '{ n = split($1, p, " "); split($2, q, " "); for (i = 1; i <= n; i++) { a += p[i]; b += q[i] } if (a > 0) printf "%.3f", b / a }')"
  } >>"$report"
fi

# JIT or Native AOT: the two builds run back to back in pairs, the order flipped every pair, so
# that drift on a noisy machine hits both alike; the ratios within each pair are what count.
# pair_run NAME PORT PID: one measured run (after a warm-up); sets pair_rps and pair_cpu (us/request)
pair_run() {
  local out="$tmp/pair-$1.txt" url="http://127.0.0.1:$2/" before after requests
  local -a pids
  mapfile -t pids < <(family "$3")
  run_wrk "$url" "$warmup" "$tmp/pair-warmup.txt"
  before="$(cpu_ticks "${pids[@]}")"
  run_wrk "$url" "$duration" "$out"
  after="$(cpu_ticks "${pids[@]}")"
  requests="$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")"
  read -r pair_rps pair_cpu < <(awk -v t="$((after - before))" -v hz="$clk_tck" -v n="${requests:-0}" '$1 == "Requests/sec:" { r = $2 }
    END { if (n > 0 && r > 0) printf "%.0f %.1f\n", r, t * 1e6 / hz / n; else print "- -" }' "$out")
  pair_p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
}

if [ "$aot_pairs" -gt 0 ] && [ -n "$balancer_pid" ] && alive "$balancer_pid" && [ -n "$aot_pid" ] && alive "$aot_pid"; then
  jit_r=() jit_c=() aot_r=() aot_c=() order=()
  for ((pair = 1; pair <= aot_pairs; pair++)); do
    if ((pair % 2)); then order+=("JIT, AOT"); else order+=("AOT, JIT"); fi
    for build in $(if ((pair % 2)); then echo jit aot; else echo aot jit; fi); do
      log "JIT/AOT pair $pair/$aot_pairs: $build run"
      if [ "$build" = jit ]; then
        pair_run jit "$lb_port" "$balancer_pid"; jit_r+=("$pair_rps") jit_c+=("$pair_cpu")
      else
        pair_run aot "$aot_port" "$aot_pid"; aot_r+=("$pair_rps") aot_c+=("$pair_cpu")
      fi
    done
  done
  {
    echo
    echo "JIT or Native AOT ($aot_pairs pairs of ${duration}s runs back to back, ${warmup}s warm-up each, order flipped every pair):"
    echo
    echo "| pair | order | JIT req/s | AOT req/s | AOT/JIT req/s | JIT CPU us/req | AOT CPU us/req | AOT/JIT CPU |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|"
    for i in "${!jit_r[@]}"; do
      echo "| $((i + 1)) | ${order[$i]} | ${jit_r[$i]} | ${aot_r[$i]} | $(ratio "${aot_r[$i]}" "${jit_r[$i]}") | ${jit_c[$i]} | ${aot_c[$i]} | $(ratio "${aot_c[$i]}" "${jit_c[$i]}") |"
    done
    echo
    echo "- median AOT/JIT req/s: $(ratios aot_r jit_r | median); median AOT/JIT CPU per request: $(ratios aot_c jit_c | median)"
    echo "- RSS after the pairs: JIT $(rss_mb "$balancer_pid") MB, AOT $(rss_mb "$aot_pid") MB"
  } >>"$report"
fi

if [ "$haproxy_pairs" -gt 0 ] && [ -n "$balancer_pid" ] && alive "$balancer_pid" && [ -n "$haproxy_pid" ] && alive "$haproxy_pid"; then
  pb_r=() pb_c=() pb_p=() hp_r=() hp_c=() hp_p=()
  for ((pair = 1; pair <= haproxy_pairs; pair++)); do
    for target in $(if ((pair % 2)); then echo pb hp; else echo hp pb; fi); do
      log "pipebalancer/haproxy pair $pair/$haproxy_pairs: $target run"
      if [ "$target" = pb ]; then
        pair_run pb "$lb_port" "$balancer_pid"; pb_r+=("$pair_rps") pb_c+=("$pair_cpu") pb_p+=("$pair_p99")
      else
        pair_run hp "$haproxy_port" "$haproxy_pid"; hp_r+=("$pair_rps") hp_c+=("$pair_cpu") hp_p+=("$pair_p99")
      fi
    done
  done
  {
    echo
    echo "pipebalancer against HAProxy ($haproxy_pairs pairs of ${duration}s runs back to back, ${warmup}s warm-up each, order flipped every pair):"
    echo
    echo "| pair | pipebalancer req/s | haproxy req/s | req/s ratio | pipebalancer CPU us/req | haproxy CPU us/req | CPU ratio | pipebalancer p99 ms | haproxy p99 ms |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for i in "${!pb_r[@]}"; do
      echo "| $((i + 1)) | ${pb_r[$i]} | ${hp_r[$i]} | $(ratio "${pb_r[$i]}" "${hp_r[$i]}") | ${pb_c[$i]} | ${hp_c[$i]} | $(ratio "${pb_c[$i]}" "${hp_c[$i]}") | ${pb_p[$i]} | ${hp_p[$i]} |"
    done
    echo
    echo "- median pipebalancer/haproxy: req/s $(ratios pb_r hp_r | median), CPU per request $(ratios pb_c hp_c | median), p99 $(ratios pb_p hp_p | median); pairs with req/s >= haproxy: $(ratios pb_r hp_r | awk '$1 >= 1' | wc -l)/$haproxy_pairs"
  } >>"$report"
fi

cat "$report"
mkdir -p "$here/results"
cp "$report" "$here/results/last.md"
log "saved perf/load/results/last.md"

status=0
for s in "${states[@]}"; do [ "$s" = ok ] || status=1; done
exit "$status"
