#!/usr/bin/env bash
# PipeBalancer start-up and memory: the JIT build (`dotnet pipebalancer.dll`) against the Native
# AOT executable, same config, same backend.
#
# Usage:
#   bash perf/startup/run.sh [--runs N]     (default 5 runs of each build)
#
# Uses the builds already there: src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll
# (./build.sh run or dotnet build -c Release) and artifacts/publish/linux-x64/pipebalancer
# (./build.sh publish). Needs curl and python3 (to pick free ports).
#
# What it does: one backend (`pipebalancer demo-backend`, started once); then, N times and
# alternating the two builds, `serve` with a temporary lb.json on fresh ports, and curl through
# the listener every 5 ms until a proxied answer (200) comes back. Measured per run: wall time
# from launch to that answer, the CPU time (utime+stime) the balancer used until then, its RSS
# (VmRSS) 2 s later while idle, and its exit code after SIGTERM. Prints the medians as a
# markdown table, with the size on disk of each build.

set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

runs=5
case "${1:-}" in
  --runs) runs="${2:?--runs needs a number}" ;;
  -h|--help) sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "startup: unknown option '$1'" >&2; exit 64 ;;
esac

dll="$root/src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll"
aot="$root/artifacts/publish/linux-x64/pipebalancer"
[ -f "$dll" ] || { echo "startup: $dll is missing: dotnet build src/PipeBalancer -c Release" >&2; exit 1; }
[ -x "$aot" ] || { echo "startup: $aot is missing: ./build.sh publish" >&2; exit 1; }
clk_tck="$(getconf CLK_TCK)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipebalancer-startup.XXXXXX")" || exit 1
backend=""
cleanup() {
  [ -n "$backend" ] && kill -TERM "$backend" 2>/dev/null && wait "$backend" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_ports() {
  python3 -c 'import socket
s = [socket.socket() for _ in range(int(__import__("sys").argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

read -r backend_port < <(free_ports 1)
"$aot" demo-backend --address "127.0.0.1:$backend_port" --id s1 >"$tmp/backend.log" 2>&1 &
backend=$!
until curl -s -o /dev/null "http://127.0.0.1:$backend_port/health"; do sleep 0.05; done

cpu_ms() { # utime+stime of PID in ms
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  s="${s##*) }"
  local -a f
  read -r -a f <<<"$s"
  echo $(((f[11] + f[12]) * 1000 / clk_tck))
}

# one_run BUILD: prints "start-ms cpu-ms rss-mb exit-code"
one_run() {
  local lb admin
  read -r lb admin < <(free_ports 2)
  cat >"$tmp/lb.json" <<EOF
{"listeners":[{"name":"web","address":"127.0.0.1:$lb","mode":"http"}],"admin":{"address":"127.0.0.1:$admin"},"backends":[{"id":"s1","address":"127.0.0.1:$backend_port"}]}
EOF
  local -a command=("$aot")
  [ "$1" = jit ] && command=(dotnet "$dll")
  local t0="$EPOCHREALTIME"
  "${command[@]}" serve --config "$tmp/lb.json" >"$tmp/$1.out" 2>&1 &
  local pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$lb/" 2>/dev/null)" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { echo "startup: $1 exited:" >&2; cat "$tmp/$1.out" >&2; exit 1; }
    sleep 0.005
  done
  local t1="$EPOCHREALTIME" cpu rss
  cpu="$(cpu_ms "$pid")"
  sleep 2
  rss="$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"
  kill -TERM "$pid"
  wait "$pid"
  local code=$?
  awk -v a="$t0" -v b="$t1" -v c="$cpu" -v r="$rss" -v x="$code" 'BEGIN { printf "%.0f %d %s %d\n", (b - a) * 1000, c, r, x }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$tmp/jit.txt"; : >"$tmp/aot.txt"
for ((i = 1; i <= runs; i++)); do
  for build in $(if ((i % 2)); then echo jit aot; else echo aot jit; fi); do
    r="$(one_run "$build")" || exit 1
    echo "startup: run $i $build: $r (ms to first proxied response, CPU ms, idle RSS MB, exit code)" >&2
    echo "$r" >>"$tmp/$build.txt"
  done
done

jit_size="$(du -sm "$(dirname "$dll")" --exclude=linux-x64 | cut -f1)"
runtime_size="$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" || $1 == "Microsoft.AspNetCore.App" { gsub(/[][]/, "", $3); print $3 "/" $2 }' | xargs du -smc | tail -n 1 | cut -f1)"
aot_size="$(awk -v b="$(stat -c %s "$aot")" 'BEGIN { printf "%.1f", b / 1048576 }')"
row() { # BUILD SIZE
  local f="$tmp/$1.txt"
  echo "| $1 | $(cut -d' ' -f1 "$f" | median) | $(cut -d' ' -f2 "$f" | median) | $(cut -d' ' -f3 "$f" | median) | $(cut -d' ' -f4 "$f" | sort -u | tr '\n' ' ')| $2 |"
}
echo "PipeBalancer start-up $(date -u '+%Y-%m-%d %H:%M:%S UTC') | nproc $(nproc) | commit $(git rev-parse --short HEAD 2>/dev/null) | medians of $runs runs each, builds alternating"
echo
echo "| build | ms to first proxied response | CPU ms until then | idle RSS MB | exit codes on SIGTERM | size on disk |"
echo "|---|---:|---:|---:|---|---|"
row jit "${jit_size} MB + the shared .NET and ASP.NET Core runtimes (${runtime_size} MB)"
row aot "${aot_size} MB, one file"
