#!/usr/bin/env bash
# PipeBalancer build script. Verbs (build.ps1 takes the same):
#   ./build.sh               publish (below), restore, build, test
#   ./build.sh test          publish (below), then build and run every test; ends with
#                            "N passed, N failed"
#   ./build.sh publish       Native AOT executable for linux-x64 at
#                            artifacts/publish/linux-x64/pipebalancer (installs clang and
#                            zlib1g-dev through apt-get when they are missing, and says so)
#   ./build.sh run [args]    Release build, then run pipebalancer with args; no args: the demo
#                            (sample backends on lb.json's addresses, then the balancer)
#   ./build.sh bench [filter]  BenchmarkDotNet benchmarks (filter: a glob such as '*Lookup*')
#   ./build.sh load [workload...] [opts]  load harness (perf/PipeBalancer.Load): the balancer
#                            against HAProxy in pairs of wrk runs, nine workloads; --help
set -euo pipefail

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

# Native AOT links with the platform's C toolchain: clang, and zlib's headers
# (https://aka.ms/nativeaot-prerequisites). Installed through apt-get when missing.
aot_prerequisites() {
  local missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  need apt-get "Native AOT needs ${missing[*]}: install it with your package manager (https://aka.ms/nativeaot-prerequisites)."
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "build.sh: Native AOT needs ${missing[*]}; installing with apt-get update, then apt-get install -y --no-install-recommends ${missing[*]}${sudo[*]:+ (through sudo)}" >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
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
    publish
    dotnet restore PipeBalancer.sln
    dotnet build PipeBalancer.sln -c Release --no-restore
    run_tests --no-build
    ;;
  test)
    # The functional tests run the Native AOT executable too.
    publish
    run_tests "$@"
    ;;
  publish)
    publish "$@"
    ;;
  run)
    dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -v quiet -nologo
    [ $# -eq 0 ] && set -- demo
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
  *)
    echo "build.sh: unknown verb '$verb' (use: test, publish, run, bench, load, or none for restore+build+test)" >&2
    exit 64
    ;;
esac
