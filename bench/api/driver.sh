#!/usr/bin/env bash
# Load benchmark of the UserApi (src/UserApi) against a private MariaDB seeded with 10,000 users,
# compared with the same queries run by a plain MySqlConnector loop without HTTP (bench/api/DriverLoop)
# and, optionally, with another build of the UserApi measured in the same run (BENCH_BASELINE_DLL).
# See bench/api/README.md for what each figure means.
#
# Usage: bench/api/driver.sh [--duration SECONDS] [--warmup SECONDS]
#
# It installs wrk and MariaDB from Debian's packages when missing, starts its own MariaDB on
# 127.0.0.1:${BENCH_DB_PORT:-13307} (directory .local/bench-mariadb; the developer's instance on 13306
# is not touched), builds and starts the UserApi in Release on 127.0.0.1:${BENCH_API_PORT:-18000},
# runs every case, prints one table, and stops what it started. Everything listens on loopback only.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "${SCRIPT_DIR}/../.." && pwd)"

DURATION=10
WARMUP=30
CONNECTIONS=(1 16 64)
ROWS=10000
DB_PORT="${BENCH_DB_PORT:-13307}"
API_PORT="${BENCH_API_PORT:-18000}"
API_URL="http://127.0.0.1:${API_PORT}"
BASELINE_DLL="${BENCH_BASELINE_DLL:-}"
BASELINE_URL="http://127.0.0.1:$((API_PORT + 1))"
WORK_DIR="${REPO_ROOT}/.local/bench-api"
READY_TIMEOUT=60

usage() {
    cat <<EOF
Usage: $(basename "$0") [--duration SECONDS] [--warmup SECONDS]

Benchmarks the UserApi against a private MariaDB with ${ROWS} users: wrk at ${CONNECTIONS[*]}
connections on /status, /users/{id} and /users, and the same queries by a plain MySqlConnector loop
(bench/api/DriverLoop) at the same concurrency. Prints one table, the CPU each process used, the
UserApi's peak RSS and the size of the /users response.

Options:
  --duration SECONDS   measured time per case, 1..3600 (default ${DURATION})
  --warmup SECONDS     unmeasured load before the /users/{id} cases, for the UserApi and for the
                       driver loop each, 0..3600 (default ${WARMUP}); .NET's tiered JIT needs about
                       30 s of load to reach full speed. /status and /users get min(5, this) and
                       min(10, this) seconds.

Environment:
  BENCH_DB_PORT   port of the benchmark's MariaDB on 127.0.0.1 (default 13307)
  BENCH_API_PORT  port of the UserApi on 127.0.0.1 (default 18000)
  BENCH_API_DLL   benchmark this userapi.dll instead of building src/UserApi (e.g. a build of
                  another commit, to compare)
  BENCH_BASELINE_DLL  also benchmark this userapi.dll (e.g. a build of an older commit), on port
                  BENCH_API_PORT+1, in the same run: every case runs against the UserApi, then the
                  baseline, then the driver loop, so that drift on the machine hits all alike
  MYSQL_MAX_POOL_SIZE and the other UserApi settings pass through to the UserApi when set.

Logs and raw outputs: ${WORK_DIR}
EOF
}

log() { printf '[bench/api] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while (($# > 0)); do
    case "$1" in
        --duration | --warmup)
            (($# >= 2)) || die "$1 needs a value"
            if [[ "$1" == --duration ]]; then DURATION="$2"; else WARMUP="$2"; fi
            shift 2
            ;;
        --duration=*) DURATION="${1#--duration=}"; shift ;;
        --warmup=*) WARMUP="${1#--warmup=}"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$DURATION" =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 3600)) \
    || die "--duration must be a whole number of seconds, 1..3600 (got '${DURATION}')"
[[ "$WARMUP" =~ ^[0-9]+$ ]] && ((WARMUP <= 3600)) \
    || die "--warmup must be a whole number of seconds, 0..3600 (got '${WARMUP}')"
WARMUP_STATUS=$((WARMUP < 5 ? WARMUP : 5))
WARMUP_ALL=$((WARMUP < 10 ? WARMUP : 10))
# Each measured driver run first runs unmeasured while its workers connect and threads settle.
DRIVER_SETTLE=1

# The benchmark's own MariaDB instance (hack/mariadb.sh reads these).
export USERAPI_DB_DIR="${REPO_ROOT}/.local/bench-mariadb"
export USERAPI_DB_PORT="$DB_PORT"
export MYSQL_PASSWORD="userapi-bench"
MARIADB_SH="${REPO_ROOT}/hack/mariadb.sh"

# Settings for the benchmark database, for `env` (a shell function would put a subshell between `$!`
# and the process, and stopping it by its pid would miss the process).
DB_ENV=(MYSQL_HOST=127.0.0.1 "MYSQL_PORT=${DB_PORT}" MYSQL_USER=root "MYSQL_PASSWORD=${MYSQL_PASSWORD}" MYSQL_DATABASE=Main)

API_PID=""
BASELINE_PID=""
DRIVER_PROC=""
DB_STARTED=0

# stop_pid PID NAME: SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
    local pid="$1" name="$2" i
    kill -0 "$pid" 2>/dev/null || return 0
    log "stopping ${name} (pid ${pid})"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "${name} did not stop within 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

stop_api() {
    if [[ -n "$API_PID" ]]; then
        stop_pid "$API_PID" "the UserApi"
        API_PID=""
    fi
    if [[ -n "$BASELINE_PID" ]]; then
        stop_pid "$BASELINE_PID" "the baseline UserApi"
        BASELINE_PID=""
    fi
}

stop_driver() {
    [[ -n "$DRIVER_PROC" ]] || return 0
    # Ask it to quit, close its input (end of input does the same), then make sure it is gone.
    local fd="${DRIVER[1]:-}" i
    if [[ -n "$fd" ]]; then
        echo quit >&"$fd" 2>/dev/null || true
        eval "exec ${fd}>&-" 2>/dev/null || true
    fi
    for ((i = 0; i < 50; i++)); do
        kill -0 "$DRIVER_PROC" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$DRIVER_PROC" "the driver loop"
    DRIVER_PROC=""
}

cleanup() {
    local status=$?
    stop_driver
    stop_api
    if ((DB_STARTED)); then
        "$MARIADB_SH" stop >/dev/null 2>&1 || log "warning: stopping the benchmark MariaDB failed; run: USERAPI_DB_DIR=${USERAPI_DB_DIR} ${MARIADB_SH} stop"
    fi
    if ((status != 0)); then
        log "failed (exit ${status}); logs are in ${WORK_DIR}"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# --- 1. Tools -------------------------------------------------------------------------------------

install_tools() {
    if ! command -v wrk >/dev/null 2>&1; then
        log "installing wrk with apt-get"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update >"${WORK_DIR}/apt.log" 2>&1 \
            || { tail -n 20 "${WORK_DIR}/apt.log" >&2; die "apt-get update failed"; }
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk \
            >>"${WORK_DIR}/apt.log" 2>&1 || { tail -n 20 "${WORK_DIR}/apt.log" >&2; die "apt-get install wrk failed"; }
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk is still missing after apt-get install"
    "$MARIADB_SH" install
    command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"
    command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is required"
}

# --- 2. Database ----------------------------------------------------------------------------------

# The request of a case: status, one, all.
case_label() {
    case "$1" in
        status) echo "/status" ;;
        one) echo "/users/{id}" ;;
        all) echo "/users" ;;
    esac
}

sql() {
    local client
    client="$(command -v mariadb || command -v mysql)" || die "no mariadb client found"
    MYSQL_PWD="$MYSQL_PASSWORD" "$client" --no-defaults --protocol=TCP --host=127.0.0.1 --port="$DB_PORT" \
        --user=root --default-character-set=utf8mb4 "$@"
}

start_database() {
    if "$MARIADB_SH" status >/dev/null 2>&1; then
        log "the benchmark MariaDB is already running on 127.0.0.1:${DB_PORT}; using it (it stays running)"
    else
        DB_STARTED=1
        "$MARIADB_SH" start
    fi
    log "loading ${SCRIPT_DIR}/schema.sql (${ROWS} users)"
    sql <"${REPO_ROOT}/hack/seed.sql" || die "loading hack/seed.sql failed"
    sql <"${SCRIPT_DIR}/schema.sql" || die "loading schema.sql failed"
    local count
    count="$(sql --batch --skip-column-names -e 'SELECT COUNT(*) FROM Main.Users')"
    [[ "$count" == "$ROWS" ]] || die "Main.Users has ${count} rows, expected ${ROWS}"
    DB_PID="$(cat "${USERAPI_DB_DIR}/mariadb.pid")"
    DB_VERSION="$(sql --batch --skip-column-names -e 'SELECT VERSION()')"
}

# --- 3. Build and start the UserApi ---------------------------------------------------------------

build() {
    local project name projects=(bench/api/DriverLoop/DriverLoop.csproj)
    [[ -n "${BENCH_API_DLL:-}" ]] || projects=(src/UserApi/UserApi.csproj "${projects[@]}")
    for project in "${projects[@]}"; do
        name="$(basename "$project" .csproj)"
        log "dotnet build -c Release ${project}"
        dotnet build -c Release --nologo "${REPO_ROOT}/${project}" >"${WORK_DIR}/build-${name}.log" 2>&1 \
            || { grep -E ' error ' "${WORK_DIR}/build-${name}.log" | sort -u | tail -n 20 >&2; die "building ${project} failed (log: ${WORK_DIR}/build-${name}.log)"; }
    done
    API_DLL="${BENCH_API_DLL:-${REPO_ROOT}/src/UserApi/bin/Release/net10.0/userapi.dll}"
    DRIVER_DLL="${REPO_ROOT}/bench/api/DriverLoop/bin/Release/net10.0/driverloop.dll"
    [[ -f "$API_DLL" ]] || die "missing ${API_DLL} after the build"
    [[ -f "$DRIVER_DLL" ]] || die "missing ${DRIVER_DLL} after the build"
    [[ -z "$BASELINE_DLL" || -f "$BASELINE_DLL" ]] || die "missing BENCH_BASELINE_DLL ${BASELINE_DLL}"
}

# launch_api DLL URL LOG NAME: starts one UserApi build and waits for /ready; sets LAUNCHED_PID.
launch_api() {
    local dll="$1" url="$2" logfile="$3" name="$4"
    if curl -s -o /dev/null --max-time 2 "${url}/status"; then
        die "something already answers on ${url}; stop it or set BENCH_API_PORT"
    fi
    log "starting ${name} on ${url}"
    env "${DB_ENV[@]}" ASPNETCORE_ENVIRONMENT=Production dotnet "$dll" --urls "$url" \
        </dev/null >"$logfile" 2>&1 &
    LAUNCHED_PID=$!
    local deadline=$((SECONDS + READY_TIMEOUT))
    until curl -sf -o /dev/null --max-time 2 "${url}/ready"; do
        if ! kill -0 "$LAUNCHED_PID" 2>/dev/null; then
            tail -n 30 "$logfile" >&2
            die "${name} exited during start-up (log above)"
        fi
        ((SECONDS < deadline)) || { tail -n 30 "$logfile" >&2; die "${name} was not ready within ${READY_TIMEOUT} s"; }
        sleep 0.25
    done
    log "${name} ready (pid ${LAUNCHED_PID})"
}

start_api() {
    launch_api "$API_DLL" "$API_URL" "${WORK_DIR}/userapi.log" "the UserApi"
    API_PID="$LAUNCHED_PID"
    if [[ -n "$BASELINE_DLL" ]]; then
        launch_api "$BASELINE_DLL" "$BASELINE_URL" "${WORK_DIR}/baseline.log" "the baseline UserApi"
        BASELINE_PID="$LAUNCHED_PID"
    fi
}

check_responses() {
    local body
    body="$(curl -sf --max-time 5 "${API_URL}/users/2")" || die "GET /users/2 failed"
    [[ "$body" == '{"user_id":2,"username":"Bob-2","email":"user2@example.com"}' ]] || die "GET /users/2 answered ${body}"
    body="$(curl -sf --max-time 5 "${API_URL}/users/3")" || die "GET /users/3 failed"
    [[ "$body" == *'"username":"渡辺-3"'* ]] || die "GET /users/3 answered ${body} (expected raw UTF-8 渡辺-3)"
    body="$(curl -s --max-time 5 "${API_URL}/users/${ROWS}1")" || die "GET /users/${ROWS}1 failed"
    [[ "$body" == '{"detail":"Unknown User ID"}' ]] || die "GET /users/${ROWS}1 answered ${body}"
    local headers
    USERS_BYTES="$(curl -sf --max-time 30 -D "${WORK_DIR}/users.headers" -o "${WORK_DIR}/users.json" -w '%{size_download}' "${API_URL}/users")" \
        || die "GET /users failed"
    local rows
    rows="$(grep -o '"user_id":' "${WORK_DIR}/users.json" | wc -l)"
    [[ "$rows" == "$ROWS" ]] || die "GET /users returned ${rows} users, expected ${ROWS}"
    headers="$(tr -d '\r' <"${WORK_DIR}/users.headers" | tr 'A-Z' 'a-z')"
    USERS_CHUNKED=no
    [[ "$headers" == *"transfer-encoding: chunked"* && "$headers" != *"content-length:"* ]] && USERS_CHUNKED=yes
    if [[ -n "$BASELINE_DLL" ]]; then
        local path
        for path in /users/2 /users/3 "/users/${ROWS}1" /users/abc /status; do
            [[ "$(curl -s --max-time 5 "${BASELINE_URL}${path}")" == "$(curl -s --max-time 5 "${API_URL}${path}")" ]] \
                || die "the baseline answers GET ${path} differently from the UserApi"
        done
        curl -sf --max-time 30 -o "${WORK_DIR}/users-baseline.json" "${BASELINE_URL}/users" || die "baseline GET /users failed"
        cmp -s "${WORK_DIR}/users.json" "${WORK_DIR}/users-baseline.json" || die "the baseline answers GET /users differently"
    fi
}

# --- 4. Measurements ------------------------------------------------------------------------------

# Prints the CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
    stat="${stat##*) }" # after "pid (comm) ": field 3 (state) onwards
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

# Prints the CPU time (clock ticks) all processes together have used so far (busy, not idle/iowait).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

vm_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

CLK_TCK="$(getconf CLK_TCK)"
declare -A RESULT CPU

# run_wrk KEY CONNECTIONS PATH [LUA SCRIPT]: one measured wrk run, against the baseline UserApi when
# KEY starts with "base-", else against the UserApi. RESULT[KEY] = "rps p50 p99 errors non2xx";
# CPU[KEY] = cores busy: "userapi mariadb wrk other" (other = every other process).
run_wrk() {
    local key="$1" connections="$2" path="$3" script="${4:-${SCRIPT_DIR}/report.lua}"
    local API_URL="$API_URL" API_PID="$API_PID"
    if [[ "$key" == base-* ]]; then API_URL="$BASELINE_URL" API_PID="$BASELINE_PID"; fi
    local threads=$((connections < 2 ? connections : 2)) # wrk needs connections >= threads
    local out="${WORK_DIR}/wrk-${key}.txt"
    local api_before db_before all_before api_after db_after all_after seconds rps p50 p99 errors non2xx line user sys
    all_before="$(busy_ticks)"
    api_before="$(cpu_ticks "$API_PID")"
    db_before="$(cpu_ticks "$DB_PID")"
    local TIMEFORMAT='%U %S'
    { time BENCH_LUA_DIR="$SCRIPT_DIR" wrk --latency --timeout 30s -t "$threads" -c "$connections" \
        -d "${DURATION}s" -s "$script" "${API_URL}${path}" >"$out" 2>&1; } 2>"${out}.time" \
        || { cat "$out" >&2; die "wrk failed for ${key}"; }
    all_after="$(busy_ticks)"
    api_after="$(cpu_ticks "$API_PID")"
    db_after="$(cpu_ticks "$DB_PID")"
    kill -0 "$API_PID" 2>/dev/null || { tail -n 30 "${WORK_DIR}/userapi.log" >&2; die "the UserApi died during ${key}"; }
    line="$(grep '^RESULT ' "$out")" || { cat "$out" >&2; die "no RESULT line from wrk for ${key}"; }
    # RESULT requests seconds rps p50 p99 errors non2xx
    read -r _ _ seconds rps p50 p99 errors non2xx <<<"$line"
    RESULT[$key]="$rps $p50 $p99 $errors $non2xx"
    read -r user sys <"${out}.time"
    CPU[$key]="$(awk -v a=$((api_after - api_before)) -v d=$((db_after - db_before)) -v all=$((all_after - all_before)) \
        -v u="$user" -v s="$sys" -v t="$CLK_TCK" -v sec="$seconds" 'BEGIN {
            w = u + s; o = all / t - a / t - d / t - w; if (o < 0) o = 0
            printf "%.2f %.2f %.2f %.2f", a / t / sec, d / t / sec, w / sec, o / sec }')"
    log "$(printf '%-5s %-14s c=%-3s %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %s/%s  cpu userapi/mariadb/wrk/other %s' \
        "${key%%-*}" "$path" "$connections" "$rps" "$p50" "$p99" "$errors" "$non2xx" "${CPU[$key]}")"
}

# warm_wrk SECONDS PATH [LUA SCRIPT] [URL]: unmeasured load at 64 connections.
warm_wrk() {
    local seconds="$1" path="$2" script="${3:-${SCRIPT_DIR}/report.lua}" url="${4:-$API_URL}"
    ((seconds > 0)) || return 0
    log "warming up ${url}: ${seconds} s of ${path} at 64 connections"
    BENCH_LUA_DIR="$SCRIPT_DIR" wrk --timeout 30s -t 2 -c 64 -d "${seconds}s" -s "$script" "${url}${path}" \
        >"${WORK_DIR}/warmup.txt" 2>&1 || { cat "${WORK_DIR}/warmup.txt" >&2; die "warm-up wrk failed on ${path}"; }
}

# One driver-loop process for every driver case (see DriverLoop/Program.cs, --commands), so that it is
# warmed up once, as the UserApi is.
start_driver() {
    coproc DRIVER { exec env "${DB_ENV[@]}" dotnet "$DRIVER_DLL" --commands --max-id "$ROWS" --cpu-pid "$DB_PID" 2>>"${WORK_DIR}/driverloop.log"; }
    DRIVER_PROC="$DRIVER_PID"
}

# driver_command QUERY WORKERS DURATION WARMUP: prints the driver's RESULT line.
driver_command() {
    local line
    [[ -n "${DRIVER[1]:-}" ]] && kill -0 "$DRIVER_PROC" 2>/dev/null \
        || { tail -n 20 "${WORK_DIR}/driverloop.log" >&2; die "the driver loop is not running"; }
    echo "run $1 $2 $3 $4" >&"${DRIVER[1]}"
    IFS= read -r -t $(($3 + $4 + 120)) line <&"${DRIVER[0]}" \
        || { tail -n 20 "${WORK_DIR}/driverloop.log" >&2; die "no answer from the driver loop for 'run $*'"; }
    [[ "$line" == RESULT\ * ]] || { tail -n 20 "${WORK_DIR}/driverloop.log" >&2; die "the driver loop failed 'run $*': ${line}"; }
    echo "$line"
}

warm_driver() {
    local query="$1" seconds="$2"
    ((seconds > 0)) || return 0
    log "warming up the driver loop: ${seconds} s of '${query}' with 64 workers"
    driver_command "$query" 64 "$seconds" 0 >/dev/null
}

# run_driver KEY QUERY WORKERS: one measured driver run. RESULT[KEY] = "qps p50 p99 errors";
# CPU[KEY] = cores busy: "driver mariadb other".
run_driver() {
    local key="$1" query="$2" workers="$3" line qps p50 p99 errors own_cpu db_cpu all_before all_after other
    all_before="$(busy_ticks)"
    line="$(driver_command "$query" "$workers" "$DURATION" "$DRIVER_SETTLE")"
    all_after="$(busy_ticks)"
    echo "$line" >"${WORK_DIR}/driver-${key}.txt"
    # RESULT queries seconds qps p50 p99 errors own-cpu-cores db-cpu-cores
    read -r _ _ _ qps p50 p99 errors own_cpu db_cpu <<<"$line"
    RESULT[$key]="$qps $p50 $p99 $errors"
    # All processes over the whole command (settle + measured time), minus the two measured processes.
    other="$(awk -v all=$((all_after - all_before)) -v t="$CLK_TCK" -v sec=$((DURATION + DRIVER_SETTLE)) \
        -v o="$own_cpu" -v d="$db_cpu" 'BEGIN { x = all / t / sec - o - d; if (x < 0) x = 0; printf "%.2f", x }')"
    CPU[$key]="$own_cpu $db_cpu $other"
    log "$(printf 'driver %-7s w=%-3s %9.1f q/s    p50 %7.2f ms  p99 %7.2f ms  errors %s    cpu driver/mariadb/other %s' \
        "$query" "$workers" "$qps" "$p50" "$p99" "$errors" "${CPU[$key]}")"
}

# --- 5. Report ------------------------------------------------------------------------------------

print_report() {
    local date cpu_model mem_gb dotnet_version
    date="$(date -u '+%Y-%m-%d %H:%M UTC')"
    cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    mem_gb="$(awk '/^MemTotal/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)"
    dotnet_version="$(dotnet --version 2>/dev/null || echo '?')"
    echo
    echo "UserApi benchmark, ${date}: ${DURATION} s per case after warm-up (${WARMUP} s), ${ROWS} users."
    echo "Machine: $(nproc) CPUs (${cpu_model}), ${mem_gb} GB; .NET SDK ${dotnet_version}; MariaDB ${DB_VERSION}."
    echo "wrk, the driver loop, the UserApi and MariaDB all run on this machine. UserApi settings: defaults${MYSQL_MAX_POOL_SIZE:+, MYSQL_MAX_POOL_SIZE=${MYSQL_MAX_POOL_SIZE}}."
    [[ -z "${BENCH_API_DLL:-}" ]] || echo "UserApi build: ${BENCH_API_DLL}"
    [[ -z "$BASELINE_DLL" ]] || echo "Baseline (\"old\") build, measured right after the UserApi in every case: ${BASELINE_DLL}"
    echo
    printf '%-12s %5s | %10s %8s %8s | %10s %8s %8s | %10s\n' \
        case conns "API req/s" "p50 ms" "p99 ms" "driver q/s" "p50 ms" "p99 ms" "API/driver"
    printf '%s\n' "-------------------+-------------------------------+-------------------------------+-----------"
    local name c rps p50 p99 qps dp50 dp99 label
    for name in status one all; do
        label="$(case_label "$name")"
        for c in "${CONNECTIONS[@]}"; do
            read -r rps p50 p99 _ <<<"${RESULT[api-$name-$c]}"
            if [[ "$name" == status ]]; then
                printf '%-12s %5s | %10.1f %8.2f %8.2f | %10s %8s %8s | %10s\n' "$label" "$c" "$rps" "$p50" "$p99" - - - -
            else
                read -r qps dp50 dp99 _ <<<"${RESULT[driver-$name-$c]}"
                printf '%-12s %5s | %10.1f %8.2f %8.2f | %10.1f %8.2f %8.2f | %9.0f%%\n' "$label" "$c" "$rps" "$p50" "$p99" \
                    "$qps" "$dp50" "$dp99" "$(awk -v a="$rps" -v d="$qps" 'BEGIN { print (d > 0 ? 100 * a / d : 0) }')"
            fi
        done
    done

    if [[ -n "$BASELINE_DLL" ]]; then
        echo
        echo "UserApi against the baseline build, same cases, same run:"
        printf '%-12s %5s | %10s %8s %8s | %10s %8s %8s | %10s\n' \
            case conns "API req/s" "p50 ms" "p99 ms" "old req/s" "p50 ms" "p99 ms" "API/old"
        printf '%s\n' "-------------------+-------------------------------+-------------------------------+-----------"
        local brps bp50 bp99
        for name in status one all; do
            label="$(case_label "$name")"
            for c in "${CONNECTIONS[@]}"; do
                read -r rps p50 p99 _ <<<"${RESULT[api-$name-$c]}"
                read -r brps bp50 bp99 _ <<<"${RESULT[base-$name-$c]}"
                printf '%-12s %5s | %10.1f %8.2f %8.2f | %10.1f %8.2f %8.2f | %9.0f%%\n' "$label" "$c" "$rps" "$p50" "$p99" \
                    "$brps" "$bp50" "$bp99" "$(awk -v a="$rps" -v d="$brps" 'BEGIN { print (d > 0 ? 100 * a / d : 0) }')"
            done
        done
    fi

    echo
    echo "CPU busy during each case, in cores (of $(nproc)); other = every other process on the machine:"
    printf '%-12s %5s | %8s %8s %8s %8s | %8s %8s %8s\n' case conns userapi mariadb wrk other driver mariadb other
    local a d w o dr dd do
    for name in status one all; do
        label="$(case_label "$name")"
        for c in "${CONNECTIONS[@]}"; do
            read -r a d w o <<<"${CPU[api-$name-$c]}"
            if [[ "$name" == status ]]; then
                dr=- dd=- do=-
            else
                read -r dr dd do <<<"${CPU[driver-$name-$c]}"
            fi
            printf '%-12s %5s | %8s %8s %8s %8s | %8s %8s %8s\n' "$label" "$c" "$a" "$d" "$w" "$o" "$dr" "$dd" "$do"
        done
    done
    if [[ -n "$BASELINE_DLL" ]]; then
        echo "Baseline build, same columns as the UserApi's:"
        for name in status one all; do
            label="$(case_label "$name")"
            for c in "${CONNECTIONS[@]}"; do
                read -r a d w o <<<"${CPU[base-$name-$c]}"
                printf '%-12s %5s | %8s %8s %8s %8s |\n' "$label" "$c" "$a" "$d" "$w" "$o"
            done
        done
    fi

    echo
    local hold_mb=$((USERS_BYTES * 64 / 1024 / 1024))
    echo "GET /users: ${USERS_BYTES} bytes of JSON for ${ROWS} users; chunked without Content-Length (streamed): ${USERS_CHUNKED}."
    echo "UserApi peak RSS (VmHWM): $((RSS_BEFORE_USERS / 1024)) MB after the /status and /users/{id} cases,"
    echo "  $((RSS_AFTER_USERS / 1024)) MB after the /users cases (VmRSS then $((RSS_NOW / 1024)) MB)."
    [[ -z "$BASELINE_DLL" ]] || echo "  Baseline build peak RSS (VmHWM) at the end: $((BASELINE_RSS / 1024)) MB."
    echo "  For comparison, 64 complete /users responses held at once would be ${hold_mb} MB as UTF-8 bytes"
    echo "  alone (64 x ${USERS_BYTES} B), several times that as .NET strings and objects."
    local errors=0 baseline_errors=0 key e n
    for key in "${!RESULT[@]}"; do
        if [[ "$key" == api-* || "$key" == base-* ]]; then
            read -r _ _ _ e n <<<"${RESULT[$key]}"
        else
            read -r _ _ _ e <<<"${RESULT[$key]}"
            n=0
        fi
        # The baseline is only a comparison: its failures are reported, they do not fail the run.
        if [[ "$key" == base-* ]]; then
            baseline_errors=$((baseline_errors + ${e:-0} + ${n:-0}))
        else
            errors=$((errors + ${e:-0} + ${n:-0}))
        fi
    done
    if ((baseline_errors > 0)); then
        echo
        echo "Note: the baseline build failed ${baseline_errors} requests (non-2xx or socket errors); see ${WORK_DIR}/wrk-base-*.txt"
    fi
    if ((errors > 0)); then
        echo
        echo "WARNING: ${errors} failed requests or queries in total; see ${WORK_DIR}/wrk-*.txt and driverloop.log"
        return 1
    fi
}

# --- main -----------------------------------------------------------------------------------------

main() {
    mkdir -p "$WORK_DIR"
    rm -f "${WORK_DIR}"/wrk-*.txt* "${WORK_DIR}"/driver-*.txt "${WORK_DIR}/driverloop.log"
    install_tools
    start_database
    build
    start_api
    check_responses
    start_driver

    local c
    warm_wrk "$WARMUP_STATUS" /status
    [[ -z "$BASELINE_DLL" ]] || warm_wrk "$WARMUP_STATUS" /status "" "$BASELINE_URL"
    for c in "${CONNECTIONS[@]}"; do
        run_wrk "api-status-$c" "$c" /status
        [[ -z "$BASELINE_DLL" ]] || run_wrk "base-status-$c" "$c" /status
    done

    local by_id="${SCRIPT_DIR}/users-by-id.lua"
    warm_wrk "$WARMUP" /users/1 "$by_id"
    [[ -z "$BASELINE_DLL" ]] || warm_wrk "$WARMUP" /users/1 "$by_id" "$BASELINE_URL"
    warm_driver one "$WARMUP"
    for c in "${CONNECTIONS[@]}"; do
        run_wrk "api-one-$c" "$c" /users/1 "$by_id"
        [[ -z "$BASELINE_DLL" ]] || run_wrk "base-one-$c" "$c" /users/1 "$by_id"
        run_driver "driver-one-$c" one "$c"
    done
    RSS_BEFORE_USERS="$(vm_kb "$API_PID" VmHWM)"

    warm_wrk "$WARMUP_ALL" /users
    [[ -z "$BASELINE_DLL" ]] || warm_wrk "$WARMUP_ALL" /users "" "$BASELINE_URL"
    warm_driver all "$WARMUP_ALL"
    for c in "${CONNECTIONS[@]}"; do
        run_wrk "api-all-$c" "$c" /users
        [[ -z "$BASELINE_DLL" ]] || run_wrk "base-all-$c" "$c" /users
        run_driver "driver-all-$c" all "$c"
    done
    RSS_AFTER_USERS="$(vm_kb "$API_PID" VmHWM)"
    RSS_NOW="$(vm_kb "$API_PID" VmRSS)"
    [[ -z "$BASELINE_DLL" ]] || BASELINE_RSS="$(vm_kb "$BASELINE_PID" VmHWM)"

    stop_driver
    stop_api
    print_report
}

main
