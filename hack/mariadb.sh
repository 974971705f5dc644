#!/usr/bin/env bash
# Private MariaDB instance for developing and testing src/UserApi.
#
# It never touches the system service (there is no systemd here): the data directory, socket,
# pid file and error log all live in one directory owned by this script.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "${SCRIPT_DIR}/.." && pwd)"

DB_DIR="${USERAPI_DB_DIR:-${REPO_ROOT}/.local/mariadb}"
DB_PORT="${USERAPI_DB_PORT:-13306}"
DB_PASSWORD="${MYSQL_PASSWORD:-userapi-dev}"
DB_NAME="Main"
START_TIMEOUT="${USERAPI_DB_START_TIMEOUT:-30}"
STOP_TIMEOUT="${USERAPI_DB_STOP_TIMEOUT:-30}"

DATA_DIR="${DB_DIR}/data"
SOCKET="${DB_DIR}/mariadb.sock"
PID_FILE="${DB_DIR}/mariadb.pid"
ERROR_LOG="${DB_DIR}/error.log"

usage() {
    cat <<EOF
Usage: $(basename "$0") <command>

Runs a private MariaDB instance for src/UserApi and its tests.

Commands:
  install   install mariadb-server and mariadb-client from apt when mariadbd is missing
  start     install if needed, initialise the data directory when empty, start mariadbd on
            127.0.0.1:\${USERAPI_DB_PORT} and set the root password (idempotent)
  seed      load hack/seed.sql (database ${DB_NAME}, table Users) into the running instance
  stop      stop the instance (waits up to ${STOP_TIMEOUT} s)
  status    say whether the instance is running
  env       print the MYSQL_* variables for the UserApi service, e.g. eval "\$($(basename "$0") env)"

Environment:
  USERAPI_DB_DIR   instance directory   (now: ${DB_DIR})
  USERAPI_DB_PORT  TCP port on 127.0.0.1 (now: ${DB_PORT})
  MYSQL_PASSWORD   root password for TCP logins (now: ${DB_PASSWORD:+<set>})
EOF
}

log() { printf '[mariadb.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Finds a MariaDB program on PATH or in /usr/sbin, /usr/bin; prints its path or nothing.
find_program() {
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
        if [[ -x "/usr/sbin/$name" ]]; then echo "/usr/sbin/$name"; return 0; fi
        if [[ -x "/usr/bin/$name" ]]; then echo "/usr/bin/$name"; return 0; fi
    done
    return 1
}

mariadbd_path() { find_program mariadbd mysqld; }
client_path() { find_program mariadb mysql; }
install_db_path() { find_program mariadb-install-db mysql_install_db; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

cmd_install() {
    if mariadbd_path >/dev/null && client_path >/dev/null && install_db_path >/dev/null; then
        log "MariaDB is installed: $(mariadbd_path)"
        return 0
    fi
    log "installing mariadb-server and mariadb-client with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        mariadb-server mariadb-client
    mariadbd_path >/dev/null || die "mariadbd still not found after apt-get install"
    log "installed: $(mariadbd_path)"
}

# Prints the pid of the running instance, or fails when it is not running.
running_pid() {
    [[ -s "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A stale pid file may name a pid reused by another program: it must be our mariadbd.
    grep -aqF -- "$DATA_DIR" "/proc/${pid}/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

# Runs the client over the private socket as root (unix_socket authentication, no password).
sql_socket() {
    "$(client_path)" --no-defaults --protocol=SOCKET --socket="$SOCKET" --user=root \
        --default-character-set=utf8mb4 "$@"
}

# Runs the client over TCP with the password, as the service does.
sql_tcp() {
    MYSQL_PWD="$DB_PASSWORD" "$(client_path)" --no-defaults --protocol=TCP --host=127.0.0.1 \
        --port="$DB_PORT" --user=root --default-character-set=utf8mb4 "$@"
}

cmd_start() {
    cmd_install
    mkdir -p "$DB_DIR"

    local pid
    if pid="$(running_pid)"; then
        log "already running (pid ${pid}) on 127.0.0.1:${DB_PORT}"
        return 0
    fi

    local user_args=()
    if [[ "$(id -u)" -eq 0 ]]; then
        user_args=(--user=root)
    fi

    if [[ ! -d "${DATA_DIR}/mysql" ]]; then
        log "initialising ${DATA_DIR}"
        mkdir -p "$DATA_DIR"
        "$(install_db_path)" --no-defaults "${user_args[@]}" --datadir="$DATA_DIR" \
            --auth-root-authentication-method=socket --skip-test-db >"${DB_DIR}/install.log" 2>&1 \
            || { tail -n 30 "${DB_DIR}/install.log" >&2; die "mariadb-install-db failed"; }
    fi

    log "starting mariadbd on 127.0.0.1:${DB_PORT} (dir ${DB_DIR})"
    rm -f "$PID_FILE"
    # setsid + nohup: the server outlives this shell and ignores its terminal's hangup.
    setsid nohup "$(mariadbd_path)" --no-defaults "${user_args[@]}" \
        --datadir="$DATA_DIR" --socket="$SOCKET" --pid-file="$PID_FILE" \
        --log-error="$ERROR_LOG" --bind-address=127.0.0.1 --port="$DB_PORT" \
        --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-buffer-pool-size=64M --max-connections=200 \
        </dev/null >>"${DB_DIR}/stdout.log" 2>&1 &
    local server_pid=$!

    local deadline=$((SECONDS + START_TIMEOUT))
    until sql_socket -e 'SELECT 1' >/dev/null 2>&1; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            log "mariadbd exited during start-up; tail of ${ERROR_LOG}:"
            tail -n 30 "$ERROR_LOG" >&2 2>/dev/null || true
            die "start failed"
        fi
        if ((SECONDS >= deadline)); then
            log "mariadbd did not answer within ${START_TIMEOUT} s; tail of ${ERROR_LOG}:"
            tail -n 30 "$ERROR_LOG" >&2 2>/dev/null || true
            kill -TERM "$server_pid" 2>/dev/null || true
            die "start failed"
        fi
        sleep 0.5
    done

    # Root over TCP logs in with the password; root over the private socket keeps unix_socket.
    local quoted="${DB_PASSWORD//\\/\\\\}"
    quoted="${quoted//\'/\\\'}"
    sql_socket <<SQL
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '${quoted}';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${quoted}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('${quoted}');
FLUSH PRIVILEGES;
SQL
    log "running (pid $(running_pid)) on 127.0.0.1:${DB_PORT}"
}

cmd_seed() {
    running_pid >/dev/null || die "not running; run: $0 start"
    sql_tcp <"${SCRIPT_DIR}/seed.sql"
    local count
    count="$(sql_tcp --batch --skip-column-names -e "SELECT COUNT(*) FROM ${DB_NAME}.Users")"
    log "seeded ${DB_NAME}.Users: ${count} rows"
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running"
        return 0
    fi
    log "stopping pid ${pid}"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "pid ${pid} did not stop within ${STOP_TIMEOUT} s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        echo "running (pid ${pid}) on 127.0.0.1:${DB_PORT}, dir ${DB_DIR}"
    else
        echo "not running (dir ${DB_DIR})"
        return 3
    fi
}

cmd_env() {
    printf 'export MYSQL_HOST=127.0.0.1 MYSQL_PORT=%q MYSQL_USER=root MYSQL_PASSWORD=%q MYSQL_DATABASE=%q\n' \
        "$DB_PORT" "$DB_PASSWORD" "$DB_NAME"
}

main() {
    local command="${1:-}"
    case "$command" in
        install) cmd_install ;;
        start) cmd_start ;;
        seed) cmd_seed ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        env) cmd_env ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) log "unknown command: ${command}"; usage >&2; exit 2 ;;
    esac
}

main "$@"
