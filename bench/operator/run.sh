#!/usr/bin/env bash
# The operator at scale, each figure beside its target (issue 21).
#
#   bench/operator/run.sh [--10k] [--memory-limit 256Mi] [--baseline REV|PATH.dll] [options]
#
#   --10k                 10,000 UserApis, no idle phase and no reconnects (time to all Ready, peak RSS, requests per UserApi)
#   --memory-limit SIZE   the operator runs in a cgroup v1 memory cgroup of SIZE from its start, as in its
#                         container; an OOM kill, limit hits and OutOfMemoryException lines are reported (needs root)
#   --baseline REV        also run the same benchmark, first, against the operator of git revision REV
#                         (built into .local/bench-baseline/<commit>), or against PATH/userapi-operator.dll:
#                         both columns printed, before and after, same machine, same run
#   --count N --idle SECONDS --resync SECONDS --reconnects ROUNDS --empty-ends ROUNDS --operator-env K=V
#   --operator-args FLAG...   see Operator.Bench's usage (defaults: 1000 UserApis, 60 s idle, 20 s resync,
#                             1000 rounds of watch timeouts, 30 rounds of empty watch ends)
#
# Builds the operator and this benchmark in Release, then runs the real operator process against an
# in-process fake API server (tests/KubeApiFake) with a simulated Deployment controller. Prints the
# load average at start and end: figures vary with the load of this shared machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
args=()
baseline=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --10k) args+=(--count 10000 --idle 0 --reconnects 0 --empty-ends 0) ;;
        --baseline) [[ $# -ge 2 ]] || usage; baseline="$2"; shift ;;
        -h|--help) usage ;;
        --operator-args) args+=("$@"); break ;;
        *) args+=("$1") ;;
    esac
    shift
done

build() { dotnet build -c Release --nologo -v quiet -clp:"NoSummary;ErrorsOnly" "$@"; }

if [[ -n "$baseline" ]]; then
    if [[ "$baseline" == *.dll ]]; then
        [[ -f "$baseline" ]] || { echo "run.sh: --baseline $baseline: no such file" >&2; exit 2; }
        baseline_dll="$baseline"
    else
        commit=$(git rev-parse --verify --quiet "$baseline^{commit}") || { echo "run.sh: --baseline $baseline: not a git revision" >&2; exit 2; }
        dir=".local/bench-baseline/$commit"
        if [[ ! -f "$dir/src/Operator/bin/Release/net10.0/userapi-operator.dll" ]]; then
            rm -rf "$dir"
            mkdir -p "$dir"
            git archive "$commit" Directory.Build.props Directory.Packages.props .editorconfig src/Operator | tar -x -C "$dir"
            echo "run.sh: building the baseline operator of $commit in $dir" >&2
            build "$dir/src/Operator/Operator.csproj"
        fi
        baseline_dll="$dir/src/Operator/bin/Release/net10.0/userapi-operator.dll"
    fi
    args=(--baseline "$baseline_dll" "${args[@]}")
fi

build src/Operator/Operator.csproj
build bench/operator/Operator.Bench.csproj
exec dotnet bench/operator/bin/Release/net10.0/Operator.Bench.dll \
    --operator src/Operator/bin/Release/net10.0/userapi-operator.dll "${args[@]}"
