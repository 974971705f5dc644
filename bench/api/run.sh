#!/usr/bin/env bash
# Side by side on one MariaDB and one data set: the UserApi (src/UserApi), the original FastAPI
# service (bench/api/fastapi, the reference implementation of the same contract), the plain
# MySqlConnector loop (bench/api/DriverLoop) and MariaDB's own ceiling (sysbench oltp_point_select).
# See bench/api/README.md, "Against FastAPI".
#
# Usage: bench/api/run.sh [--duration SECONDS] [--warmup SECONDS] [--api-dll PATH]
#   --api-dll: run this build of the UserApi (e.g. another checkout's src/UserApi/bin/Release/net10.0/userapi.dll)
#              instead of building this one: a baseline for before/after figures on the same machine.
#
# Installs what is missing from Debian's packages (wrk, sysbench, python3-fastapi, python3-uvicorn,
# python3-sqlalchemy, python3-pymysql; MariaDB through hack/mariadb.sh), starts its own MariaDB on
# 127.0.0.1:${BENCH_DB_PORT:-13307} (.local/bench-mariadb), loads 10,000 users into Main and the first
# 241 into Small, starts the UserApi and the FastAPI service on each (ports BENCH_API_PORT..+3,
# default 18000..18003), records the UserApi's warm-up, checks that both answer the same JSON, warms
# both up, runs every case and prints one table. It stops what it started, by pid.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "${SCRIPT_DIR}/../.." && pwd)"

DURATION=10
WARMUP=30
CONNECTIONS=(1 32 64)
DB_PORT="${BENCH_DB_PORT:-13307}"
API_PORT="${BENCH_API_PORT:-18000}"
WORK_DIR="${REPO_ROOT}/.local/bench-compare"
PYTHON=/usr/bin/python3 # Debian's, which the python3-* packages install into
READY_TIMEOUT=60
API_DLL_OVERRIDE=""

log() { printf '[bench/api] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while (($# > 0)); do
    case "$1" in
        --duration) DURATION="${2:?}"; shift 2 ;;
        --warmup) WARMUP="${2:?}"; shift 2 ;;
        --api-dll) API_DLL_OVERRIDE="${2:?}"; shift 2 ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$DURATION" =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 3600)) || die "--duration must be 1..3600"
[[ "$WARMUP" =~ ^[0-9]+$ ]] && ((WARMUP <= 3600)) || die "--warmup must be 0..3600"

export USERAPI_DB_DIR="${REPO_ROOT}/.local/bench-mariadb"
export USERAPI_DB_PORT="$DB_PORT"
export MYSQL_PASSWORD="userapi-bench"
MARIADB_SH="${REPO_ROOT}/hack/mariadb.sh"
DB_ENV=(MYSQL_HOST=127.0.0.1 "MYSQL_PORT=${DB_PORT}" MYSQL_USER=root "MYSQL_PASSWORD=${MYSQL_PASSWORD}")

# name -> pid, url of each service process: api (Main), fastapi (Main), api-small, fastapi-small
declare -A PID URL
DB_STARTED=0

stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? name
    for name in "${!PID[@]}"; do stop_pid "${PID[$name]}"; done
    if ((DB_STARTED)); then "$MARIADB_SH" stop >/dev/null 2>&1 || true; fi
    ((status == 0)) || log "failed (exit ${status}); logs are in ${WORK_DIR}"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

install_tools() {
    local missing=() package
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
    for package in python3-fastapi python3-uvicorn python3-sqlalchemy python3-pymysql; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if ((${#missing[@]} > 0)); then
        log "installing ${missing[*]} with apt-get"
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } \
            >"${WORK_DIR}/apt.log" 2>&1 || { tail -n 20 "${WORK_DIR}/apt.log" >&2; die "apt-get install failed"; }
    fi
    "$MARIADB_SH" install
}

sql() {
    MYSQL_PWD="$MYSQL_PASSWORD" "$(command -v mariadb || command -v mysql)" --no-defaults --protocol=TCP \
        --host=127.0.0.1 --port="$DB_PORT" --user=root --default-character-set=utf8mb4 "$@"
}

start_database() {
    if "$MARIADB_SH" status >/dev/null 2>&1; then
        log "the benchmark MariaDB is already running on 127.0.0.1:${DB_PORT}; using it"
    else
        DB_STARTED=1
        "$MARIADB_SH" start
    fi
    sql <"${REPO_ROOT}/hack/seed.sql"
    sql <"${SCRIPT_DIR}/schema.sql"
    sql -e "DROP DATABASE IF EXISTS Small; CREATE DATABASE Small CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
            CREATE TABLE Small.Users LIKE Main.Users; INSERT INTO Small.Users SELECT * FROM Main.Users WHERE user_id <= 241;
            CREATE DATABASE IF NOT EXISTS sbtest;"
    [[ "$(sql -N -e 'SELECT COUNT(*) FROM Main.Users')" == 10000 ]] || die "Main.Users is not 10,000 rows"
    [[ "$(sql -N -e 'SELECT COUNT(*) FROM Small.Users')" == 241 ]] || die "Small.Users is not 241 rows"
    DB_PID="$(cat "${USERAPI_DB_DIR}/mariadb.pid")"
    # MariaDB's own ceiling: sysbench's point select on its own table of the same size.
    sysbench_cmd cleanup >/dev/null 2>&1 || true
    sysbench_cmd prepare >"${WORK_DIR}/sysbench-prepare.log" 2>&1 || { cat "${WORK_DIR}/sysbench-prepare.log" >&2; die "sysbench prepare failed"; }
}

sysbench_cmd() {
    sysbench oltp_point_select --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$DB_PORT" --mysql-user=root \
        --mysql-password="$MYSQL_PASSWORD" --mysql-db=sbtest --tables=1 --table-size=10000 "$@"
}

build() {
    local project
    for project in src/UserApi/UserApi.csproj bench/api/DriverLoop/DriverLoop.csproj; do
        dotnet build -c Release --nologo "${REPO_ROOT}/${project}" >"${WORK_DIR}/build.log" 2>&1 \
            || { tail -n 20 "${WORK_DIR}/build.log" >&2; die "building ${project} failed"; }
    done
    API_DLL="${API_DLL_OVERRIDE:-${REPO_ROOT}/src/UserApi/bin/Release/net10.0/userapi.dll}"
    [[ -f "$API_DLL" ]] || die "no UserApi build at ${API_DLL}"
    log "UserApi: ${API_DLL}"
    DRIVER_DLL="${REPO_ROOT}/bench/api/DriverLoop/bin/Release/net10.0/driverloop.dll"
}

# start NAME PORT DATABASE KIND(api|fastapi): starts one service process; does not wait.
start() {
    local name="$1" port="$2" database="$3" kind="$4"
    URL[$name]="http://127.0.0.1:${port}"
    if curl -s -o /dev/null --max-time 2 "${URL[$name]}/status"; then die "something already answers on ${URL[$name]}"; fi
    if [[ "$kind" == api ]]; then
        env "${DB_ENV[@]}" "MYSQL_DATABASE=${database}" ASPNETCORE_ENVIRONMENT=Production \
            dotnet "$API_DLL" --urls "${URL[$name]}" </dev/null >"${WORK_DIR}/${name}.log" 2>&1 &
    else
        env "${DB_ENV[@]}" "MYSQL_DATABASE=${database}" "$PYTHON" -m uvicorn main:app --app-dir "${SCRIPT_DIR}/fastapi" \
            --host 127.0.0.1 --port "$port" --workers 1 --no-access-log --log-level warning </dev/null >"${WORK_DIR}/${name}.log" 2>&1 &
    fi
    PID[$name]=$!
}

wait_ready() {
    local name="$1" deadline=$((SECONDS + READY_TIMEOUT))
    until curl -sf -o /dev/null --max-time 2 "${URL[$name]}/users/1"; do
        kill -0 "${PID[$name]}" 2>/dev/null || { tail -n 20 "${WORK_DIR}/${name}.log" >&2; die "${name} exited"; }
        ((SECONDS < deadline)) || die "${name} not ready within ${READY_TIMEOUT} s"
        sleep 0.1
    done
}

# Warm-up on record: requests/s in each of the first 10 seconds after the UserApi first answered,
# /users/{id} at 64 connections (ten 1-s wrk runs back to back).
record_warmup() {
    local second rps
    WARMUP_SERIES=""
    for second in $(seq 1 10); do
        rps="$(BENCH_LUA_DIR="$SCRIPT_DIR" wrk -t 2 -c 64 -d 1s -s "${SCRIPT_DIR}/users-by-id.lua" "${URL[api]}/" 2>&1 | awk '/^RESULT/ { printf "%.0f", $4 }')"
        WARMUP_SERIES+="${rps:-?} "
    done
}

check_same_json() {
    local pair path a b
    for pair in "api fastapi" "api-small fastapi-small"; do
        set -- $pair
        for path in /status /users/1 /users/3 /users/4 /users/241 /users/99999 /users; do
            a="$(curl -s --max-time 60 "${URL[$1]}${path}")"
            b="$(curl -s --max-time 60 "${URL[$2]}${path}")"
            [[ "$a" == "$b" ]] || die "$1 and $2 answer GET ${path} differently: '${a:0:200}' vs '${b:0:200}'"
        done
    done
    log "the UserApi and FastAPI answer the same JSON (status, users, user by id, unknown id, both data sets)"
}

ticks() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }; s="${s##*) }"; set -- $s; echo $((${12} + ${13})); }
CLK_TCK="$(getconf CLK_TCK)"
declare -A R # key -> "rps p50 p99 cpu_per_1000 db_cpu_per_1000"

# measure KEY PROCESS-PID DB?(1/0) -- command...: runs the command, which must print
# "RESULT requests seconds rps p50 p99 ..."; stores R[KEY].
measure() {
    local key="$1" pid="$2"; shift 2
    local before db_before after db_after line
    before="$(ticks "$pid")"; db_before="$(ticks "$DB_PID")"
    line="$("$@" | grep '^RESULT' | tail -n 1)" || die "no result for ${key}"
    after="$(ticks "$pid")"; db_after="$(ticks "$DB_PID")"
    set -- $line
    R[$key]="$(awk -v n="$2" -v rps="$4" -v p50="$5" -v p99="$6" -v c=$((after - before)) -v d=$((db_after - db_before)) -v t="$CLK_TCK" \
        'BEGIN { printf "%.1f %.2f %.2f %.3f %.3f", rps, p50, p99, (n > 0 ? c / t / n * 1000 : 0), (n > 0 ? d / t / n * 1000 : 0) }')"
    log "$(printf '%-28s %s' "$key" "${R[$key]}")"
}

wrk_run() { # URL PATH CONNECTIONS SECONDS [LUA]
    local threads=$(($3 < 2 ? $3 : 2))
    BENCH_LUA_DIR="$SCRIPT_DIR" wrk --latency --timeout 30s -t "$threads" -c "$3" -d "$4s" -s "${5:-${SCRIPT_DIR}/report.lua}" "$1$2" 2>&1
}

sysbench_run() { # THREADS SECONDS: prints a RESULT line like report.lua's (p50 not reported by sysbench: 0)
    sysbench_cmd --threads="$1" --time="$2" --percentile=99 run 2>&1 | awk '
        /queries:/ { gsub(/[()]/, ""); n = $2; rps = $3 }
        /99th percentile:/ { p99 = $3 }
        END { printf "RESULT %d %s %s 0 %s 0 0\n", n, "0", rps, p99 }'
}

driver_run() { # WORKERS SECONDS
    env "${DB_ENV[@]}" MYSQL_DATABASE=Main dotnet "$DRIVER_DLL" --query one --workers "$1" --duration "$2" --warmup 2 2>/dev/null
}

main() {
    mkdir -p "$WORK_DIR"
    install_tools
    start_database
    build
    start api "$API_PORT" Main api
    wait_ready api
    record_warmup
    log "UserApi warm-up, /users/{id} req/s in each of its first 10 s: ${WARMUP_SERIES}"
    start fastapi $((API_PORT + 1)) Main fastapi
    start api-small $((API_PORT + 2)) Small api
    start fastapi-small $((API_PORT + 3)) Small fastapi
    local name
    for name in fastapi api-small fastapi-small; do wait_ready "$name"; done
    check_same_json

    local by_id="${SCRIPT_DIR}/users-by-id.lua" c
    log "warming up: ${WARMUP} s of /users/{id} on each service, 5 s of /users on each"
    for name in api fastapi; do wrk_run "${URL[$name]}" / 64 "$WARMUP" "$by_id" >/dev/null; done
    for name in api-small fastapi-small api fastapi; do wrk_run "${URL[$name]}" /users 16 5 >/dev/null; done
    sysbench_cmd --threads=8 --time=5 run >/dev/null 2>&1

    for c in "${CONNECTIONS[@]}"; do
        measure "one-api-$c" "${PID[api]}" wrk_run "${URL[api]}" / "$c" "$DURATION" "$by_id"
        measure "one-fastapi-$c" "${PID[fastapi]}" wrk_run "${URL[fastapi]}" / "$c" "$DURATION" "$by_id"
        measure "one-driver-$c" "$DB_PID" driver_run "$c" "$DURATION"
        measure "one-sysbench-$c" "$DB_PID" sysbench_run "$c" "$DURATION"
        measure "small-api-$c" "${PID[api-small]}" wrk_run "${URL[api-small]}" /users "$c" "$DURATION"
        measure "small-fastapi-$c" "${PID[fastapi-small]}" wrk_run "${URL[fastapi-small]}" /users "$c" "$DURATION"
        measure "status-api-$c" "${PID[api]}" wrk_run "${URL[api]}" /status "$c" "$DURATION"
        measure "status-fastapi-$c" "${PID[fastapi]}" wrk_run "${URL[fastapi]}" /status "$c" "$DURATION"
        measure "big-api-$c" "${PID[api]}" wrk_run "${URL[api]}" /users "$c" "$DURATION"
        drain api
        measure "big-fastapi-$c" "${PID[fastapi]}" wrk_run "${URL[fastapi]}" /users "$c" "$DURATION"
        # wrk stops sending, but FastAPI still works through the requests it had accepted.
        drain fastapi
    done
    API_RSS="$(awk '/^VmHWM/ { print $2 }' "/proc/${PID[api]}/status")"
    FASTAPI_RSS="$(awk '/^VmHWM/ { print $2 }' "/proc/${PID[fastapi]}/status")"
    report
}

# drain NAME: waits (up to 300 s) until NAME answers /status within a second again.
drain() {
    local deadline=$((SECONDS + 300))
    until curl -sf -o /dev/null --max-time 1 "${URL[$1]}/status"; do
        ((SECONDS < deadline)) || die "$1 still busy 300 s after a case"
        sleep 1
    done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

report() {
    echo
    echo "UserApi vs FastAPI, $(date -u '+%Y-%m-%d %H:%M UTC'): ${DURATION} s per case after ${WARMUP} s of warm-up; $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); MariaDB $(sql -N -e 'SELECT VERSION()')."
    echo "Everything on this machine; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "CPU = CPU seconds per 1,000 requests of the serving process (driver loop and sysbench: of MariaDB)."
    echo
    printf '%-16s %5s | %9s %7s %7s %6s | %9s %7s %7s %6s | %9s %9s | %7s %7s %7s\n' \
        case conns "UserApi/s" "p50" "p99" CPU "FastAPI/s" "p50" "p99" CPU "driver/s" "sysbench" "/FastAPI" "/driver" "/sysb."
    local kind c a f d s
    for kind in one small big status; do
        for c in "${CONNECTIONS[@]}"; do
            read -r -a a <<<"${R[$kind-api-$c]}"
            read -r -a f <<<"${R[$kind-fastapi-$c]}"
            if [[ "$kind" == one ]]; then
                read -r -a d <<<"${R[one-driver-$c]}"
                read -r -a s <<<"${R[one-sysbench-$c]}"
            else
                d=(- - - - -) s=(- - - - -)
            fi
            printf '%-16s %5s | %9s %7s %7s %6s | %9s %7s %7s %6s | %9s %9s | %7s %7s %7s\n' \
                "$(case "$kind" in one) echo "/users/{id}" ;; small) echo "/users (241)" ;; big) echo "/users (10,000)" ;; status) echo /status ;; esac)" \
                "$c" "${a[0]}" "${a[1]}" "${a[2]}" "${a[3]}" "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${d[0]}" "${s[0]}" \
                "$(ratio "${a[0]}" "${f[0]}")" "$(ratio "${a[0]}" "${d[0]}")" "$(ratio "${a[0]}" "${s[0]}")"
        done
    done
    echo
    echo "UserApi warm-up, /users/{id} at 64 connections, req/s in each of its first 10 s: ${WARMUP_SERIES}"
    echo "Peak RSS (VmHWM) after all cases: UserApi (10,000-row /users at up to 64 at once) $((API_RSS / 1024)) MB, FastAPI $((FASTAPI_RSS / 1024)) MB."
    limits
}

# limits: each /users/{id} case against what this machine allows for a request that is both an HTTP
# answer and a point select, 1 / (1 / (UserApi /status req/s) + 1 / (sysbench q/s)), both measured
# in this run at the same connection count; then the targets of the UserApi's footprint.
limits() {
    local c a st s limit
    echo
    echo "/users/{id} against the machine's limit = 1 / (1 / UserApi /status req/s + 1 / sysbench q/s), same run:"
    printf '%5s | %9s %9s %9s | %9s %6s\n' conns "/status" sysbench limit "UserApi/s" share
    for c in "${CONNECTIONS[@]}"; do
        read -r -a a <<<"${R[one-api-$c]}"
        read -r -a st <<<"${R[status-api-$c]}"
        read -r -a s <<<"${R[one-sysbench-$c]}"
        limit="$(awk -v x="${st[0]}" -v y="${s[0]}" 'BEGIN { if (x > 0 && y > 0) printf "%.0f", 1 / (1 / x + 1 / y); else printf "0" }')"
        printf '%5s | %9s %9s %9s | %9s %5s%%\n' "$c" "${st[0]}" "${s[0]}" "$limit" "${a[0]}" \
            "$(awk -v a="${a[0]}" -v l="$limit" 'BEGIN { if (l > 0) printf "%.0f", 100 * a / l; else printf "-" }')"
    done
    read -r -a a <<<"${R[one-api-32]}"
    read -r -a st <<<"${R[status-api-32]}"
    read -r -a s <<<"${R[one-sysbench-32]}"
    local small
    read -r -a small <<<"${R[small-api-32]}"
    echo
    echo "Targets (issue: the UserApi at half the machine's limit):"
    awk -v a="${a[0]}" -v x="${st[0]}" -v y="${s[0]}" -v cpu="${a[3]}" -v p99="${a[2]}" -v scpu="${small[3]}" -v rss="$((API_RSS / 1024))" 'BEGIN {
        limit = (x > 0 && y > 0) ? 1 / (1 / x + 1 / y) : 0
        share = limit > 0 ? 100 * a / limit : 0
        printf "  /users/{id}, 32 connections: %5.0f %% of the limit     (target >= 50 %%)   %s\n", share, (share >= 50 ? "met" : "MISSED")
        printf "  /users/{id}, 32 connections: %5.0f us CPU per request  (target <= 50 us)  %s\n", cpu * 1000, (cpu * 1000 <= 50 ? "met" : "MISSED")
        printf "  /users/{id}, 32 connections: %5.2f ms p99             (target <= 10 ms)  %s\n", p99, (p99 <= 10 ? "met" : "MISSED")
        printf "  /users (241), 32 connections: %4.0f us CPU per request  (target <= 250 us) %s\n", scpu * 1000, (scpu * 1000 <= 250 ? "met" : "MISSED")
        printf "  peak RSS after every case:    %5d MB                  (target <= 128 MB) %s\n", rss, (rss <= 128 ? "met" : "MISSED")
    }'
}

main
