#!/usr/bin/env bash
# The operator at scale: bench/operator/run.sh [--count N] [--idle SECONDS] [--reconnects ROUNDS]
# Builds the operator and this benchmark in Release, then runs the real operator process against an
# in-process fake API server with N UserApis (default 1000) and prints time to all Ready, API
# requests per UserApi, writes while idle (default 60 s), the operator's peak resident memory, and
# its memory across ROUNDS x 5 watch reconnects (default 1000 rounds).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release --nologo -v quiet -clp:"NoSummary;ErrorsOnly" src/Operator/Operator.csproj
dotnet build -c Release --nologo -v quiet -clp:"NoSummary;ErrorsOnly" bench/operator/Operator.Bench.csproj
exec dotnet bench/operator/bin/Release/net10.0/Operator.Bench.dll \
    --operator src/Operator/bin/Release/net10.0/userapi-operator.dll "$@"
