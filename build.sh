#!/usr/bin/env bash
# PipeBalancer build script. Verbs (build.ps1 takes the same):
#   ./build.sh               publish (below), restore, build, test
#   ./build.sh test          installs the Debian packages the tests use (test_packages
#                            below), publishes (below), then builds and runs every test;
#                            ends with "N passed, N failed"
#   ./build.sh publish       Native AOT executable for linux-x64 at
#                            artifacts/publish/linux-x64/pipebalancer (installs clang and
#                            zlib1g-dev through apt-get when they are missing, and says so);
#                            its debug symbols go to artifacts/symbols/linux-x64
#   ./build.sh run [args]    Release build, then run pipebalancer with args; no args: the demo
#                            (sample backends on lb.json's addresses, then the balancer)
#   ./build.sh bench [filter]  BenchmarkDotNet benchmarks (filter: a glob such as '*Lookup*')
#   ./build.sh load [workload...] [opts]  load harness (perf/PipeBalancer.Load): the balancer
#                            against HAProxy in pairs of wrk runs, nine workloads; --help
#   ./build.sh soak [opts]  soak: GET and POST load while reloading and killing backends
#                            (perf/soak/run.sh; --duration S, default 60)
#   ./build.sh fuzz [target] [seconds]  afl-fuzz on the HTTP/1.1 parsers (target: request,
#                            response, chunked, or all at once, the default; 60 s by default);
#                            findings in artifacts/fuzz/ (installs afl++ through apt-get when
#                            missing, and says so)
#   ./build.sh -h | --help   these verbs
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./build.sh [verb] [args]
  (no verb)         publish, restore, build, run every test
  test [args]       install the Debian packages the tests use, publish, then run every test
                    (args go to dotnet test, e.g. --filter "FullyQualifiedName~Cli");
                    ends with "N passed, N failed"
  publish           Native AOT executable: artifacts/publish/linux-x64/pipebalancer
                    (debug symbols: artifacts/symbols/linux-x64)
  run [args]        Release build, then pipebalancer with args (no args: the demo);
                    build output goes to stderr
  bench [filter]    BenchmarkDotNet benchmarks, e.g. ./build.sh bench '*Lookup*'
  load [workload...] [opts]
                    the balancer against HAProxy in pairs of wrk runs, nine workloads
                    (perf/PipeBalancer.Load; load --help lists them)
  soak [opts]       GET and POST load while reloading and killing backends (--duration S)
  fuzz [target] [seconds]
                    afl-fuzz on the HTTP/1.1 parsers (request, response, chunked or all;
                    60 s by default); findings in artifacts/fuzz/
  -h, --help        this text
EOF
}

case "${1:-}" in
  -h|--help|help)
    usage
    exit 0
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "build.sh: '$1' is not installed. $2" >&2
    exit 127
  fi
}

need dotnet "Install the .NET 10 SDK: https://dot.net/download (Debian: apt-get install dotnet-sdk-10.0 from Microsoft's package feed)."

results="$root/artifacts/test-results"
publish_dir="$root/artifacts/publish/linux-x64"

# Installs Debian packages that a verb needs, saying so first: apt_install WHY SEE PACKAGE...
# (WHY: "Native AOT needs"; SEE: a page for systems without apt-get, or ""). Nothing to do when
# no package is given.
apt_install() {
  local why="$1" see="$2"
  shift 2
  [ $# -eq 0 ] && return 0
  need apt-get "${why^} $*: install it with your package manager${see:+ ($see)}."
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "build.sh: $why $*; installing with apt-get update, then apt-get install -y --no-install-recommends $*${sudo[*]:+ (through sudo)}" >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Native AOT links with the platform's C toolchain: clang, and zlib's headers
# (https://aka.ms/nativeaot-prerequisites). Installed through apt-get when missing.
aot_prerequisites() {
  local missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  apt_install "Native AOT needs" "https://aka.ms/nativeaot-prerequisites" "${missing[@]}"
}

# Debian packages the test suite uses, one per line with the tests that need it. `./build.sh
# test` installs the missing ones with one apt-get (clang and zlib1g-dev, for the Native AOT
# publish, come from aot_prerequisites above). A test that starts using another program adds
# its package here.
test_packages=(
  chromium          # Admin/DashboardTests: the live dashboard in a real browser (Playwright's
                    # NuGet package brings its driver but no browser; it runs /usr/bin/chromium)
  curl              # Hosting/TlsTests: a real HTTPS client against a TLS listener
  ca-certificates   # curl's certificate store
  procps            # kill(1): the functional tests signal the executable (SIGTERM, SIGUSR1, ...)
  git               # the build stamps the commit into `pipebalancer --version` (git rev-parse)
  haproxy           # ProxyProtocol/ProxyProtocolPeerTests: HAProxy sends PROXY headers (send-proxy) and takes them (accept-proxy)
  nginx-light       # ProxyProtocol/ProxyProtocolPeerTests: nginx takes PROXY headers (listen ... proxy_protocol)
  dnsmasq-base      # Discovery/DnsDiscoveryTests: a real DNS server (/usr/sbin/dnsmasq) serving the SRV records
  etcd-server       # Cluster/EtcdClusterTests: a 3-member etcd on loopback holds the shared backends
)

test_prerequisites() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "build.sh: not a Debian-based system: make sure these are installed: ${test_packages[*]}" >&2
    return 0
  fi
  local missing=() package
  for package in "${test_packages[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" = installed ] || missing+=("$package")
  done
  apt_install "the tests need" "" "${missing[@]}"
}

# afl-fuzz drives the coverage-guided fuzzing (Debian's afl++). Installed through apt-get when missing.
afl_prerequisites() {
  command -v afl-fuzz >/dev/null 2>&1 && return 0
  apt_install "fuzzing needs" "https://aflplus.plus" afl++
}

# Builds the fuzz program, instruments PipeBalancer.Core.dll for afl (SharpFuzz), then runs
# afl-fuzz on each target for the given seconds, all targets at once. Ends with each target's
# executions, paths and crashes; fails when a crash or hang was found.
fuzz() {
  local target="${1:-all}" seconds="${2:-60}" out="$root/artifacts/fuzz"
  local targets=(request response chunked)
  case "$target" in
    all) ;;
    request|response|chunked) targets=("$target") ;;
    *) echo "build.sh: unknown fuzz target '$target' (use: request, response, chunked, all)" >&2; exit 64 ;;
  esac
  [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "build.sh: fuzz seconds must be a whole number, not '$seconds'" >&2; exit 64; }
  afl_prerequisites
  dotnet tool restore >/dev/null
  rm -rf "$out/bin"
  dotnet publish test/PipeBalancer.Fuzz/PipeBalancer.Fuzz.csproj -c Release -o "$out/bin" -nologo -v quiet
  dotnet tool run sharpfuzz "$out/bin/PipeBalancer.Core.dll"
  # dotnet is not built by afl's compilers (SharpFuzz instruments the IL), the machine is
  # shared (no CPU pinning), and core dumps may go to a handler.
  export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
  local pids=() t
  for t in "${targets[@]}"; do
    rm -rf "${out:?}/$t"
    echo "build.sh: afl-fuzz $t for ${seconds}s (log: artifacts/fuzz/$t.log)"
    afl-fuzz -i "test/PipeBalancer.Fuzz/seeds/$t" -o "$out/$t" -V "$seconds" -t 10000 -m none -G 2048 \
      -- dotnet "$out/bin/PipeBalancer.Fuzz.dll" "$t" >"$out/$t.log" 2>&1 &
    pids+=($!)
  done
  local status=0 stats crashes hangs
  for i in "${!targets[@]}"; do
    t="${targets[$i]}"
    wait "${pids[$i]}" || { status=1; echo "build.sh: afl-fuzz $t failed; the end of its log:" >&2; tail -n 20 "$out/$t.log" >&2; continue; }
    stats="$out/$t/default/fuzzer_stats"
    crashes=$(sed -n 's/^saved_crashes *: *//p' "$stats")
    hangs=$(sed -n 's/^saved_hangs *: *//p' "$stats")
    echo "$t: $(sed -n 's/^execs_done *: *//p' "$stats") executions, $(sed -n 's/^execs_per_sec *: *//p' "$stats") exec/s, $(sed -n 's/^corpus_count *: *//p' "$stats") paths, $crashes crashes, $hangs hangs"
    if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
      status=1
      echo "  replay: dotnet artifacts/fuzz/bin/PipeBalancer.Fuzz.dll $t artifacts/fuzz/$t/default/crashes/id* artifacts/fuzz/$t/default/hangs/id*"
    fi
  done
  return "$status"
}

publish() {
  aot_prerequisites
  dotnet publish src/PipeBalancer/PipeBalancer.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$publish_dir" -nologo "$@"
}

# Sums the counters of every TRX file written by the last test run.
count_results() {
  local passed=0 failed=0 line p f
  shopt -s nullglob
  for trx in "$results"/*.trx; do
    line=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line")
    f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
  done
  echo "$passed passed, $failed failed"
}

run_tests() {
  rm -rf "$results"
  local status=0
  dotnet test PipeBalancer.sln -c Release --logger "trx" --results-directory "$results" "$@" || status=$?
  local summary
  summary=$(count_results)
  echo "$summary"
  if [ "$status" -eq 0 ] && [[ "$summary" == "0 passed, 0 failed" ]]; then
    echo "build.sh: no test ran" >&2
    status=1
  fi
  return "$status"
}

verb="${1:-all}"
[ $# -gt 0 ] && shift
case "$verb" in
  all)
    test_prerequisites
    publish
    dotnet restore PipeBalancer.sln
    dotnet build PipeBalancer.sln -c Release --no-restore
    run_tests --no-build
    ;;
  test)
    test_prerequisites
    # The functional tests run the Native AOT executable too.
    publish
    run_tests "$@"
    ;;
  publish)
    publish "$@"
    ;;
  run)
    # Build output goes to stderr: stdout is the command's own (printf '/a\n' | ./build.sh run route > out).
    dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -v quiet -nologo >&2
    [ $# -eq 0 ] && set -- demo
    # How the demo's banner spells the commands it suggests.
    export PIPEBALANCER_COMMAND="./build.sh run"
    exec dotnet "src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll" "$@"
    ;;
  bench)
    filter="${1:-*}"
    [ $# -gt 0 ] && shift
    dotnet run -c Release --project perf/PipeBalancer.Benchmarks -- --filter "$filter" "$@"
    ;;
  load)
    # 1,000 wrk connections and 8,000 idle clients need more open files than a shell's default.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    dotnet build perf/PipeBalancer.Load/PipeBalancer.Load.csproj -c Release -nologo -v quiet >&2
    exec dotnet perf/PipeBalancer.Load/bin/Release/net10.0/pipebalancer-load.dll "$@"
    ;;
  soak)
    exec bash perf/soak/run.sh "$@"
    ;;
  fuzz)
    fuzz "$@"
    ;;
  *)
    echo "build.sh: unknown verb '$verb'" >&2
    usage >&2
    exit 64
    ;;
esac
