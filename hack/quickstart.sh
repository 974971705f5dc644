#!/usr/bin/env bash
# Quick start with no cluster: a private MariaDB on loopback (installed from Debian's packages when
# absent) seeded with the Users table, the UserApi service on http://127.0.0.1:${USERAPI_PORT:-8000},
# the objects the operator would apply for config/samples/userapi.yaml, and curl of the API.
#
#   hack/quickstart.sh           run everything, show the results, stop the API (MariaDB keeps running)
#   hack/quickstart.sh --serve   same, then keep the API running until Ctrl-C
#
# Stop MariaDB afterwards with: hack/mariadb.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."

serve=false
case "${1:-}" in
    "") ;;
    --serve) serve=true ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (use --serve or --help)" >&2; exit 2 ;;
esac

port="${USERAPI_PORT:-8000}"
base="http://127.0.0.1:${port}"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

command -v curl >/dev/null || { echo "quickstart: curl is required (apt-get install curl)" >&2; exit 1; }
if curl -s -o /dev/null "$base/status"; then
    echo "quickstart: something already answers on $base; set USERAPI_PORT to another port" >&2
    exit 1
fi

step "MariaDB on loopback (hack/mariadb.sh start && hack/mariadb.sh seed)"
hack/mariadb.sh start
hack/mariadb.sh seed
eval "$(hack/mariadb.sh env)"

step "Build"
dotnet build UserApiOperator.sln --nologo -v quiet -clp:"NoSummary;ErrorsOnly"

step "UserApi service on $base"
log=$(mktemp)
dotnet run --no-build --project src/UserApi -- --urls "$base" >"$log" 2>&1 &
api=$!
stop_api() { kill "$api" 2>/dev/null && wait "$api" 2>/dev/null; rm -f "$log"; }
trap stop_api EXIT
for _ in $(seq 1 60); do
    curl -s -o /dev/null "$base/status" && break
    kill -0 "$api" 2>/dev/null || { cat "$log" >&2; echo "quickstart: the UserApi service exited" >&2; exit 1; }
    sleep 0.5
done
curl -s -o /dev/null "$base/status" || { cat "$log" >&2; echo "quickstart: the UserApi service did not answer in 30 s" >&2; exit 1; }

step "Objects the operator applies for config/samples/userapi.yaml (render)"
dotnet run --no-build --project src/Operator -- render -f config/samples/userapi.yaml

step "curl $base/status"
curl -sS "$base/status"; echo
step "curl $base/users"
curl -sS "$base/users"; echo
step "curl $base/users/1"
curl -sS "$base/users/1"; echo

if $serve; then
    step "Serving on $base (Swagger UI: $base/docs); Ctrl-C to stop"
    wait "$api"
else
    printf '\nDone. Swagger UI and more: hack/quickstart.sh --serve, then open %s/docs\n' "$base"
fi
