#!/usr/bin/env bash
# How long slow /users clients hold the UserApi's database connections, and whether /ready still
# answers meanwhile. See bench/api/README.md, "Slow clients".
#
# Usage: bench/api/slow-clients.sh [--clients N] [--pool N] [--limit SECONDS] [RATE...]
#
# For each RATE (bytes/s, MYSQL_STREAM_MIN_RATE; default: 240 65536 262144 1048576) it starts the
# UserApi (Release build of src/UserApi, or BENCH_API_DLL) on a 10.7 MB /users response (the 10,000
# users of schema.sql with 1,000 more characters in each name: more than loopback's socket buffers
# take), with a pool of --pool connections (default 4) that streams may all take, opens --clients
# (default 4) connections that each send GET /users, read the first kilobyte and stop reading, then
# measures: GET /ready (status and time) while they hold the pool, and the time until the pool's
# own figure (mysqlconnector_db_client_connections_usage{state="used"} on /metrics) is back at 0,
# up to --limit seconds (default 120), and the server's send queue per client. With BENCH_BASELINE_DLL it measures that build too, once
# (an older build ignores the settings it does not know). Uses the benchmark MariaDB of driver.sh
# (127.0.0.1:${BENCH_DB_PORT:-13307}, .local/bench-mariadb), started and seeded when needed.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "${SCRIPT_DIR}/../.." && pwd)"

CLIENTS=4
POOL=4
LIMIT=120
RATES=()
DB_PORT="${BENCH_DB_PORT:-13307}"
API_PORT="${BENCH_API_PORT:-18000}"
API_URL="http://127.0.0.1:${API_PORT}"
WORK_DIR="${REPO_ROOT}/.local/bench-slow-clients"
PADDING=1000

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

log() { printf '[slow-clients] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while (($# > 0)); do
    case "$1" in
        --clients | --pool | --limit)
            (($# >= 2)) || die "$1 needs a value"
            [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number above 0 (got '$2')"
            case "$1" in --clients) CLIENTS="$2" ;; --pool) POOL="$2" ;; --limit) LIMIT="$2" ;; esac
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; die "unknown option: $1" ;;
        *)
            [[ "$1" =~ ^[0-9]+$ ]] || die "a rate is a whole number of bytes per second (got '$1')"
            RATES+=("$1")
            shift
            ;;
    esac
done
((${#RATES[@]} > 0)) || RATES=(240 65536 262144 1048576)
((CLIENTS <= POOL)) || die "--clients must be at most --pool (${POOL}): each client holds a connection"

export USERAPI_DB_DIR="${REPO_ROOT}/.local/bench-mariadb"
export USERAPI_DB_PORT="$DB_PORT"
export MYSQL_PASSWORD="userapi-bench"
MARIADB_SH="${REPO_ROOT}/hack/mariadb.sh"
API_PID=""
DB_STARTED=0
FDS=()

close_clients() {
    local fd
    for fd in "${FDS[@]}"; do
        eval "exec ${fd}<&-" 2>/dev/null || true
    done
    FDS=()
}

stop_api() {
    [[ -n "$API_PID" ]] || return 0
    local i
    kill -TERM "$API_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
}

cleanup() {
    local status=$?
    close_clients
    stop_api
    if ((DB_STARTED)); then
        "$MARIADB_SH" stop >/dev/null 2>&1 || log "warning: stopping the benchmark MariaDB failed"
    fi
    ((status == 0)) || log "failed (exit ${status}); logs are in ${WORK_DIR}"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK_DIR"
"$MARIADB_SH" install
for tool in curl ss dotnet; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required (curl: apt-get install curl; ss: apt-get install iproute2)"
done

sql() {
    local client
    client="$(command -v mariadb || command -v mysql)" || die "no mariadb client found"
    MYSQL_PWD="$MYSQL_PASSWORD" "$client" --no-defaults --protocol=TCP --host=127.0.0.1 --port="$DB_PORT" \
        --user=root --default-character-set=utf8mb4 "$@"
}

# --- Database: schema.sql's 10,000 users, and the Wide view of them --------------------------------
if ! "$MARIADB_SH" status >/dev/null 2>&1; then
    "$MARIADB_SH" start >"${WORK_DIR}/mariadb.log" 2>&1 || { cat "${WORK_DIR}/mariadb.log" >&2; die "MariaDB did not start"; }
    DB_STARTED=1
fi
if [[ "$(sql -N -e 'SELECT COUNT(*) FROM Main.Users' 2>/dev/null || true)" != 10000 ]]; then
    log "loading hack/seed.sql and bench/api/schema.sql"
    "$MARIADB_SH" seed >>"${WORK_DIR}/mariadb.log" 2>&1 || die "seeding failed"
    sql Main <"${SCRIPT_DIR}/schema.sql" || die "loading schema.sql failed"
fi
sql -e "CREATE DATABASE IF NOT EXISTS Wide CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE OR REPLACE VIEW Wide.Users AS
          SELECT user_id, CONCAT(username, REPEAT('x', ${PADDING})) AS username, email FROM Main.Users;" \
    || die "creating the Wide view failed"

# --- The UserApi -----------------------------------------------------------------------------------
API_DLL="${BENCH_API_DLL:-}"
if [[ -z "$API_DLL" ]]; then
    log "building src/UserApi (Release)"
    dotnet build "${REPO_ROOT}/src/UserApi" -c Release -v q -nologo >"${WORK_DIR}/build.log" 2>&1 \
        || { tail -n 30 "${WORK_DIR}/build.log" >&2; die "build failed"; }
    API_DLL="${REPO_ROOT}/src/UserApi/bin/Release/net10.0/userapi.dll"
fi

# start_api DLL RATE: the UserApi on the Wide view; waits until /ready answers 200.
start_api() {
    local dll="$1" rate="$2" i
    env MYSQL_HOST=127.0.0.1 "MYSQL_PORT=${DB_PORT}" MYSQL_USER=root "MYSQL_PASSWORD=${MYSQL_PASSWORD}" MYSQL_DATABASE=Wide \
        "MYSQL_MAX_POOL_SIZE=${POOL}" "MYSQL_MAX_STREAMS=${POOL}" "MYSQL_STREAM_MIN_RATE=${rate}" \
        dotnet "$dll" --urls "$API_URL" >"${WORK_DIR}/api-${rate}.log" 2>&1 &
    API_PID=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$API_PID" 2>/dev/null || { tail -n 20 "${WORK_DIR}/api-${rate}.log" >&2; die "the UserApi exited"; }
        [[ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "${API_URL}/ready" || true)" == 200 ]] && return 0
        sleep 0.2
    done
    die "the UserApi did not become ready within 60 s"
}

pool_used() {
    curl -s -m 10 "${API_URL}/metrics" \
        | sed -n 's/^mysqlconnector_db_client_connections_usage{pool_name="userapi",state="used"} \([0-9.e+-]*\)$/\1/p'
}

# measure LABEL DLL RATE: one row of the table.
measure() {
    local label="$1" dll="$2" rate="$3" i fd start now used ready held buffered
    start_api "$dll" "$rate"
    [[ -n "$SIZE" ]] || SIZE="$(curl -s -o /dev/null -m 60 -w '%{size_download}' "${API_URL}/users")"
    for ((i = 0; i < CLIENTS; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/${API_PORT}"
        FDS+=("$fd")
        printf 'GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
        head -c 1024 <&"$fd" >/dev/null
    done
    start=$EPOCHREALTIME
    for ((i = 0; i < 100; i++)); do
        used="$(pool_used)"
        [[ "${used%.*}" == "$CLIENTS" ]] && break
        sleep 0.1
    done
    [[ "${used%.*}" == "$CLIENTS" ]] || die "the ${CLIENTS} clients do not hold ${CLIENTS} connections (pool used: '${used}')"
    # What the kernel holds for them on the server side once they hold the pool (Send-Q of the
    # UserApi's sockets); it grows for a few seconds more.
    buffered="$(ss -tnH state established "sport = :${API_PORT}" | awk '{ s += $2; n++ } END { if (n) printf "%.1f", s / n / 1e6; else print 0 }')"
    ready="$(curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}' "${API_URL}/ready" || true)"
    ready="$(awk -v r="$ready" 'BEGIN { split(r, f, " "); if (f[1] == "" || f[1] == "000") print "no answer in 30 s"; else printf "%s in %.3f s", f[1], f[2] }')"
    held=""
    while true; do
        now=$EPOCHREALTIME
        used="$(pool_used)"
        if [[ "${used%.*}" == 0 ]]; then
            held="$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f s", b - a }')"
            break
        fi
        if awk -v a="$start" -v b="$now" -v l="$LIMIT" 'BEGIN { exit !(b - a > l) }'; then
            held="more than ${LIMIT} s"
            break
        fi
        sleep 0.2
    done
    close_clients
    stop_api
    printf '%-28s %12s | %-22s | %-16s | %8s MB\n' "$label" "$rate" "$ready" "$held" "$buffered"
}

SIZE=""
printf 'Slow /users clients, %s UTC: %s clients each read 1 KB of GET /users and stop; pool of %s, all of\n' \
    "$(date -u '+%Y-%m-%d %H:%M')" "$CLIENTS" "$POOL"
printf 'which streams may take. Time until the pool has every connection back, up to %s s.\n' "$LIMIT"
printf '%-28s %12s | %-22s | %-16s | %s\n' "build" "min rate B/s" "GET /ready while held" "connections held" "send queue per client at start"
for rate in "${RATES[@]}"; do
    measure "this build" "$API_DLL" "$rate"
done
if [[ -n "${BENCH_BASELINE_DLL:-}" ]]; then
    measure "baseline (ignores the rate)" "$BENCH_BASELINE_DLL" 240
fi
printf 'GET /users: %s bytes.\n' "$SIZE"
