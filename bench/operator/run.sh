#!/usr/bin/env bash
# The operator at scale: bench/operator/run.sh [--10k] [--count N] [--idle SECONDS] [--resync SECONDS] [--reconnects ROUNDS] [--operator-args FLAG...]
# Builds the operator and this benchmark in Release, then runs the real operator process against an
# in-process fake API server with N UserApis (default 1000) and prints time to all Ready, API
# requests per UserApi, writes and reads while idle (default 60 s, with the operator's
# --resync-period at 20 s so that idle spans forced resyncs), the operator's peak resident memory,
# and its memory across ROUNDS x (one per watched kind) watch reconnects (default 1000 rounds), twice:
# watches ended as their timeout ends them (a last bookmark first), then ended without a last event.
# --10k: 10,000 UserApis, no idle phase and no reconnects (time to all Ready, peak RSS, requests per UserApi).
set -euo pipefail
cd "$(dirname "$0")/../.."
args=()
for a in "$@"; do
    if [[ "$a" == "--10k" ]]; then args+=(--count 10000 --idle 0 --reconnects 0); else args+=("$a"); fi
done
dotnet build -c Release --nologo -v quiet -clp:"NoSummary;ErrorsOnly" src/Operator/Operator.csproj
dotnet build -c Release --nologo -v quiet -clp:"NoSummary;ErrorsOnly" bench/operator/Operator.Bench.csproj
exec dotnet bench/operator/bin/Release/net10.0/Operator.Bench.dll \
    --operator src/Operator/bin/Release/net10.0/userapi-operator.dll "${args[@]}"
