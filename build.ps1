#!/usr/bin/env pwsh
# PipeBalancer build script. Verbs (build.sh takes the same):
#   ./build.ps1               publish (below), restore, build, test
#   ./build.ps1 test          publish (below), then build and run every test; ends with
#                             "N passed, N failed"
#   ./build.ps1 publish       Native AOT executable for linux-x64 at
#                             artifacts/publish/linux-x64/pipebalancer (Linux only: Native AOT
#                             does not cross-compile between operating systems; installs clang
#                             and zlib1g-dev through apt-get when they are missing, and says so)
#   ./build.ps1 run [args]    Release build, then run pipebalancer with args; no args: the demo
#   ./build.ps1 bench [filter]  BenchmarkDotNet benchmarks (filter: a glob such as '*Lookup*')
#   ./build.ps1 load [workload...] [opts]  load harness (perf/PipeBalancer.Load): the balancer
#                            against HAProxy in pairs of wrk runs, nine workloads (Linux only)
#   ./build.ps1 fuzz [target] [seconds]  afl-fuzz on the HTTP/1.1 parsers (Linux-only: runs build.sh fuzz)
#   ./build.ps1 -h | --help  these verbs
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    Write-Error "build.ps1: 'dotnet' is not installed. Install the .NET 10 SDK: https://dot.net/download (Windows: winget install Microsoft.DotNet.SDK.10)."
    exit 127
}

$results = Join-Path $PSScriptRoot 'artifacts/test-results'
$publishDir = Join-Path $PSScriptRoot 'artifacts/publish/linux-x64'

# Native AOT links with the platform's C toolchain: clang, and zlib's headers
# (https://aka.ms/nativeaot-prerequisites). Installed through apt-get when missing.
function Install-AotPrerequisites {
    $missing = @()
    if (-not (Get-Command clang -ErrorAction SilentlyContinue)) { $missing += 'clang' }
    if (-not (Test-Path /usr/include/zlib.h)) { $missing += 'zlib1g-dev' }
    if ($missing.Count -eq 0) { return 0 }
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        [Console]::Error.WriteLine("build.ps1: Native AOT needs $missing`: install it with your package manager (https://aka.ms/nativeaot-prerequisites).")
        return 127
    }
    $asRoot = (& id -u) -eq '0'
    $through = if ($asRoot) { '' } else { ' (through sudo)' }
    [Console]::Error.WriteLine("build.ps1: Native AOT needs $missing; installing with apt-get update, then apt-get install -y --no-install-recommends $missing$through")
    $install = @('DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends') + $missing
    if ($asRoot) { & apt-get update -qq | Out-Host } else { & sudo apt-get update -qq | Out-Host }
    if ($LASTEXITCODE) { return $LASTEXITCODE }
    if ($asRoot) { & env @install | Out-Host } else { & sudo env @install | Out-Host }
    return $LASTEXITCODE
}

function Invoke-Publish([string[]] $extra) {
    if (-not $IsLinux) {
        [Console]::Error.WriteLine('build.ps1: the Native AOT executable is built for linux-x64, on Linux (Native AOT does not cross-compile between operating systems)')
        return 1
    }
    $status = Install-AotPrerequisites
    if ($status) { return $status }
    & dotnet publish src/PipeBalancer/PipeBalancer.csproj -c Release -r linux-x64 -p:PublishAot=true -o $publishDir -nologo @extra | Out-Host
    return $LASTEXITCODE
}

function Invoke-Tests([string[]] $extra) {
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    & dotnet test PipeBalancer.sln -c Release --logger trx --results-directory $results @extra
    $status = $LASTEXITCODE
    $passed = 0; $failed = 0
    foreach ($trx in Get-ChildItem -Path $results -Filter *.trx -ErrorAction SilentlyContinue) {
        $counters = ([xml](Get-Content $trx.FullName)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed
    }
    Write-Output "$passed passed, $failed failed"
    if ($status -eq 0 -and $passed -eq 0 -and $failed -eq 0) {
        Write-Error 'build.ps1: no test ran'
        $status = 1
    }
    return $status
}

$usage = @'
Usage: ./build.ps1 [verb] [args]
  (no verb)         publish, restore, build, run every test
  test [args]       publish, then run every test (args go to dotnet test);
                    ends with "N passed, N failed". On Linux, ./build.sh test also installs
                    the Debian packages the tests use (its test_packages list)
  publish           Native AOT executable: artifacts/publish/linux-x64/pipebalancer
                    (debug symbols: artifacts/symbols/linux-x64)
  run [args]        Release build, then pipebalancer with args (no args: the demo);
                    build output goes to stderr
  bench [filter]    BenchmarkDotNet benchmarks, e.g. ./build.ps1 bench '*Lookup*'
  load [opts]       wrk against the balancer, HAProxy and nginx (bash-only)
  -h, --help        this text
'@

$verb = if ($args.Count -gt 0) { $args[0] } else { 'all' }
if ($verb -in @('-h', '--help', 'help')) {
    Write-Output $usage
    exit 0
}
$rest = if ($args.Count -gt 1) { $args[1..($args.Count - 1)] } else { @() }

switch ($verb) {
    'all' {
        $status = Invoke-Publish @(); if ($status) { exit $status }
        & dotnet restore PipeBalancer.sln; if ($LASTEXITCODE) { exit $LASTEXITCODE }
        & dotnet build PipeBalancer.sln -c Release --no-restore; if ($LASTEXITCODE) { exit $LASTEXITCODE }
        exit (Invoke-Tests (@('--no-build') + $rest))
    }
    'test' {
        # The functional tests run the Native AOT executable too.
        $status = Invoke-Publish @(); if ($status) { exit $status }
        exit (Invoke-Tests $rest)
    }
    'publish' { exit (Invoke-Publish $rest) }
    'run' {
        # Build output goes to stderr: stdout is the command's own.
        & dotnet build src/PipeBalancer/PipeBalancer.csproj -c Release -v quiet -nologo | ForEach-Object { [Console]::Error.WriteLine($_) }
        if ($LASTEXITCODE) { exit $LASTEXITCODE }
        if ($rest.Count -eq 0) { $rest = @('demo') }
        # How the demo's banner spells the commands it suggests.
        $env:PIPEBALANCER_COMMAND = './build.ps1 run'
        & dotnet src/PipeBalancer/bin/Release/net10.0/pipebalancer.dll @rest
        exit $LASTEXITCODE
    }
    'bench' {
        $filter = if ($rest.Count -gt 0) { $rest[0] } else { '*' }
        $more = if ($rest.Count -gt 1) { $rest[1..($rest.Count - 1)] } else { @() }
        & dotnet run -c Release --project perf/PipeBalancer.Benchmarks -- --filter $filter @more
        exit $LASTEXITCODE
    }
    'load' {
        # The load harness reads /proc and runs wrk, nginx and HAProxy: Linux (or WSL) only.
        if (-not $IsLinux) {
            [Console]::Error.WriteLine('build.ps1: the load harness perf/PipeBalancer.Load runs on Linux only; run it on Linux or WSL')
            exit 127
        }
        & dotnet build perf/PipeBalancer.Load/PipeBalancer.Load.csproj -c Release -nologo -v quiet | Out-Host
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        & dotnet perf/PipeBalancer.Load/bin/Release/net10.0/pipebalancer-load.dll @rest
        exit $LASTEXITCODE
    }
    'fuzz' {
        # afl-fuzz and SharpFuzz's fork server run on Linux only; build.sh has the steps.
        if (-not $IsLinux -or -not (Get-Command bash -ErrorAction SilentlyContinue)) {
            [Console]::Error.WriteLine('build.ps1: fuzzing (afl-fuzz) is Linux-only; run ./build.sh fuzz [target] [seconds] on Linux')
            exit 127
        }
        & bash (Join-Path $PSScriptRoot 'build.sh') fuzz @rest
        exit $LASTEXITCODE
    }
    default {
        [Console]::Error.WriteLine("build.ps1: unknown verb '$verb'")
        [Console]::Error.WriteLine($usage)
        exit 64
    }
}
