#!/usr/bin/env bash
# Runs a test project N times, to find the tests that fail only now and then.
#
#   hack/test-repeat.sh N PROJECT [dotnet test arguments...]
#   hack/test-repeat.sh 10 tests/Operator.Tests --filter "FullyQualifiedName~Runtime.InformerTests"
#   hack/test-repeat.sh 3 tests/Operator.Tests
#
# Builds the project once, then runs `dotnet test --no-build` N times in a row and prints, at the
# end, how many runs passed, how many tests ran in each, and every test that failed at least once
# with the runs it failed in. Each run's results stay in .local/test-repeat/<timestamp>/run-<i>.trx
# (the test names and error messages of every failure). Exit code: 0 when every run passed, 1
# otherwise, 2 on a usage error.
#
# A busy machine finds more: run a second test project beside it, e.g.
#   hack/test-repeat.sh 5 tests/UserApi.Tests & hack/test-repeat.sh 5 tests/Operator.Tests; wait
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 2 && "$1" =~ ^[1-9][0-9]*$ ]] || usage
runs="$1"
project="$2"
shift 2
[[ -e "$project" ]] || { echo "test-repeat: no such project: $project" >&2; exit 2; }

results="$PWD/.local/test-repeat/$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$results"
dotnet build "$project" -nologo -v q -clp:"NoSummary;ErrorsOnly" >&2

passed=0
declare -A failed_in=()
for ((i = 1; i <= runs; i++)); do
    start=$SECONDS
    trx="run-$i.trx"
    if dotnet test "$project" --no-build --nologo --logger "trx;LogFileName=$trx" --results-directory "$results" "$@" \
        >"$results/run-$i.log" 2>&1; then
        status=passed
        passed=$((passed + 1))
    else
        status=FAILED
    fi
    total=0
    if [[ -f "$results/$trx" ]]; then
        total=$(grep -o '<Counters [^>]*' "$results/$trx" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p')
        # One <UnitTestResult ... testName="X" ... outcome="Failed"> per failed test.
        while IFS= read -r name; do
            failed_in["$name"]+=" $i"
        done < <(grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*' "$results/$trx" \
            | sed -n 's/.* testName="\([^"]*\)".*/\1/p')
    fi
    if [[ "$status" == FAILED && "${total:-0}" == 0 ]]; then
        echo "run $i/$runs: FAILED before any test ran (see $results/run-$i.log)" >&2
    else
        echo "run $i/$runs: $status, ${total:-0} tests, $((SECONDS - start)) s" >&2
    fi
done

echo "test-repeat: $passed of $runs runs passed ($project $*)"
if ((${#failed_in[@]} > 0)); then
    echo "tests that failed at least once (runs):"
    for name in "${!failed_in[@]}"; do
        printf '  %s (%s )\n' "$name" "${failed_in[$name]}"
    done | sort
fi
echo "results: $results"
((passed == runs))
