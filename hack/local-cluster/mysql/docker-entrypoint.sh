#!/usr/bin/env bash
# Entry point of the datascientest/mysql-k8s stand-in (hack/local-cluster/mysql/Dockerfile), with the
# contract of the official MySQL image's docker-entrypoint.sh (docker-library/mysql, 8.4/
# docker-entrypoint.sh: _main, docker_setup_env, docker_create_db_directories, docker_setup_db,
# docker_process_init_files), for MariaDB from Debian's packages:
#
# - `docker-entrypoint.sh mariadbd [OPTION...]` (mysqld too; an OPTION alone implies mariadbd) sets
#   up, then execs the server; any other command is executed as it is.
# - Started as root, it creates its data directory (datadir, /var/lib/mysql) and the socket's
#   directory, gives them to the mysql user (chown: CAP_CHOWN; a data directory kept from an earlier
#   start belongs to mysql already and root reaches into it with CAP_DAC_OVERRIDE and CAP_FOWNER),
#   and runs itself again as mysql through gosu (CAP_SETUID, CAP_SETGID). Those five capabilities
#   are checked first: without one it stops at once, naming it, instead of failing half-way.
# - On an empty data directory only: requires MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or
#   MYSQL_RANDOM_ROOT_PASSWORD; initialises it; starts a temporary server on the Unix socket only
#   (--skip-networking: nothing answers on TCP before the root password is set); sets the root
#   password for 'root'@'localhost' and 'root'@'${MYSQL_ROOT_HOST:-%}', drops every other root
#   account, creates MYSQL_DATABASE and MYSQL_USER/MYSQL_PASSWORD (granted that database); runs
#   /docker-entrypoint-initdb.d/*.sh (executed if executable, else sourced), *.sql, *.sql.gz,
#   *.sql.xz in name order, against MYSQL_DATABASE when set; stops the temporary server.
#   Every MYSQL_* value can also come from a file named by MYSQL_*_FILE.
# - Then it execs the server, which listens on 0.0.0.0:3306 (90-container.cnf).
set -eo pipefail
shopt -s nullglob

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }
fail() {
    printf '%s [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2
    exit 1
}

# file_env VAR [DEFAULT]: VAR from itself, else from the file named by VAR_FILE, else DEFAULT.
file_env() {
    local var="$1" file_var="${1}_FILE" default="${2:-}" value
    if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
        fail "both ${var} and ${file_var} are set (they are exclusive)"
    fi
    value="$default"
    if [[ -n "${!var:-}" ]]; then
        value="${!var}"
    elif [[ -n "${!file_var:-}" ]]; then
        value="$(<"${!file_var}")"
    fi
    export "${var}=${value}"
    unset "$file_var"
}

# server_config SERVER...: reads the server's effective settings once (its --verbose --help lists
# them after its option files) into CONFIG[name]=value.
declare -A CONFIG
server_config() {
    local output line name value
    if ! output="$("$@" --verbose --help 2>&1)"; then
        fail "$1 failed while reading its configuration: ${output}"
    fi
    while IFS= read -r line; do
        [[ "$line" =~ ^([a-z][a-z0-9_-]*)[[:space:]]+(.*)$ ]] || continue
        name="${BASH_REMATCH[1]}"
        value="${BASH_REMATCH[2]}"
        CONFIG["$name"]="${value%"${value##*[![:space:]]}"}"
    done <<<"$output"
    DATADIR="${CONFIG[datadir]%/}"
    SOCKET="${CONFIG[socket]}"
    [[ -n "$DATADIR" && -n "$SOCKET" ]] || fail "could not read datadir and socket from $1 --verbose --help"
}

# check_capabilities: as root, the capabilities this script uses (see the header), from the
# kernel's view of this process (CapEff in /proc/self/status).
check_capabilities() {
    local effective missing=() bit name
    effective="$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
    for bit in 0:CHOWN 1:DAC_OVERRIDE 3:FOWNER 6:SETGID 7:SETUID; do
        name="${bit#*:}"
        if (((16#${effective} >> ${bit%%:*} & 1) == 0)); then
            missing+=("$name")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        fail "running as root without the capabilities ${missing[*]} (effective set ${effective}): this entry point needs CHOWN, DAC_OVERRIDE and FOWNER to prepare ${DATADIR} for the mysql user and SETUID and SETGID to switch to it; add them to the container's securityContext.capabilities, or run it as the mysql user (uid 999)"
    fi
}

# create_directories: the data directory and the socket's and pid file's directories, owned by mysql.
create_directories() {
    local -A dirs=(["$DATADIR"]=1 ["$(dirname "$SOCKET")"]=1)
    local conf value
    for conf in pid-file general-log-file slow-query-log-file; do
        value="${CONFIG[$conf]:-}"
        [[ "$value" == /* ]] && dirs["$(dirname "$value")"]=1
    done
    mkdir -p "${!dirs[@]}"
    if [[ "$(id -u)" == 0 ]]; then
        find "${!dirs[@]}" -maxdepth 0 \! -user mysql -exec chown --no-dereference mysql:mysql '{}' +
        find "$DATADIR" \! -user mysql -exec chown --no-dereference mysql:mysql '{}' +
    fi
}

verify_minimum_env() {
    if [[ -z "$MYSQL_ROOT_PASSWORD" && -z "$MYSQL_ALLOW_EMPTY_PASSWORD" && -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]]; then
        fail "the database is uninitialized and no password option is given: set one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [[ "$MYSQL_USER" == root ]]; then
        fail 'MYSQL_USER="root": MYSQL_USER and MYSQL_PASSWORD create a regular user; set the root password with MYSQL_ROOT_PASSWORD'
    fi
    if [[ -n "$MYSQL_USER" && -z "$MYSQL_PASSWORD" ]]; then
        warn "MYSQL_USER is set without MYSQL_PASSWORD; MYSQL_USER will not be created"
    elif [[ -z "$MYSQL_USER" && -n "$MYSQL_PASSWORD" ]]; then
        warn "MYSQL_PASSWORD is set without MYSQL_USER; it is ignored"
    fi
}

# sql_string VALUE: VALUE as the inside of a single-quoted SQL string.
sql_string() {
    local value="${1//\\/\\\\}"
    printf '%s' "${value//\'/\\\'}"
}

# process_sql [--no-password] [CLIENT-OPTION...]: runs the SQL on stdin as root over the socket,
# with the root password (in MYSQL_PWD, so that no character of it needs quoting) unless told not to.
process_sql() {
    local password="$MYSQL_ROOT_PASSWORD"
    if [[ "${1:-}" == --no-password ]]; then
        password=""
        shift
    fi
    if [[ -n "$MYSQL_DATABASE" ]]; then
        set -- --database="$MYSQL_DATABASE" "$@"
    fi
    MYSQL_PWD="$password" mariadb --no-defaults --protocol=socket -uroot --socket="$SOCKET" --comments "$@"
}

temp_server_start() {
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" \
        --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 &
    TEMP_PID=$!
    # Ready once it answers on its socket; it exiting first is a failure, and so is a minute of
    # neither (the polling interval only bounds how soon readiness is seen).
    local deadline=$((SECONDS + 60))
    # (mariadb-admin ping succeeds once the server answers, even with "access denied".)
    until mariadb-admin --no-defaults --socket="$SOCKET" --connect-timeout=1 ping >/dev/null 2>&1; do
        if ! kill -0 "$TEMP_PID" 2>/dev/null; then
            wait "$TEMP_PID" || true
            fail "the temporary server exited before it answered on ${SOCKET}"
        fi
        ((SECONDS < deadline)) || fail "the temporary server did not answer on ${SOCKET} within 60 s"
        sleep 0.1
    done
}

temp_server_stop() {
    if ! MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb-admin --no-defaults --socket="$SOCKET" --user=root shutdown; then
        fail "could not shut down the temporary server"
    fi
    wait "$TEMP_PID" || true
}

setup_db() {
    if [[ -z "$MYSQL_INITDB_SKIP_TZINFO" && -d /usr/share/zoneinfo ]] && command -v mariadb-tzinfo-to-sql >/dev/null; then
        mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | MYSQL_DATABASE='' process_sql --no-password --database=mysql
    fi
    if [[ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ]]; then
        MYSQL_ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64)"
        export MYSQL_ROOT_PASSWORD
        note "GENERATED ROOT PASSWORD: ${MYSQL_ROOT_PASSWORD}"
    fi
    local password host root_host=""
    password="$(sql_string "$MYSQL_ROOT_PASSWORD")"
    host="$(sql_string "$MYSQL_ROOT_HOST")"
    if [[ -n "$MYSQL_ROOT_HOST" && "$MYSQL_ROOT_HOST" != localhost ]]; then
        root_host="CREATE USER 'root'@'${host}' IDENTIFIED BY '${password}';
GRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;"
    fi
    # mariadb-install-db also makes root@127.0.0.1, root@::1 and root@<hostname> without a password:
    # only root@localhost and root@MYSQL_ROOT_HOST stay, both with the password.
    MYSQL_DATABASE='' process_sql --no-password --database=mysql <<-EOSQL
		SET autocommit = 1;
		SET @@SESSION.SQL_LOG_BIN = 0;
		DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
		EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@''', @@hostname, '''');
		DROP DATABASE IF EXISTS test;
		ALTER USER 'root'@'localhost' IDENTIFIED BY '${password}';
		GRANT ALL ON *.* TO 'root'@'localhost' WITH GRANT OPTION;
		${root_host}
		FLUSH PRIVILEGES;
	EOSQL
    if [[ -n "$MYSQL_DATABASE" ]]; then
        note "Creating database ${MYSQL_DATABASE}"
        process_sql --database=mysql <<<"CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
    fi
    if [[ -n "$MYSQL_USER" && -n "$MYSQL_PASSWORD" ]]; then
        note "Creating user ${MYSQL_USER}"
        process_sql --database=mysql <<<"CREATE USER '$(sql_string "$MYSQL_USER")'@'%' IDENTIFIED BY '$(sql_string "$MYSQL_PASSWORD")';"
        if [[ -n "$MYSQL_DATABASE" ]]; then
            note "Giving user ${MYSQL_USER} access to schema ${MYSQL_DATABASE}"
            process_sql --database=mysql <<<"GRANT ALL ON \`${MYSQL_DATABASE//_/\\_}\`.* TO '$(sql_string "$MYSQL_USER")'@'%';"
        fi
    fi
}

# process_init_files FILE...: the initialisation scripts, by extension.
process_init_files() {
    local f
    for f; do
        case "$f" in
            *.sh)
                if [[ -x "$f" ]]; then
                    note "running ${f}"
                    "$f"
                else
                    note "sourcing ${f}"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql) note "running ${f}"; process_sql <"$f" ;;
            *.sql.gz) note "running ${f}"; gunzip -c "$f" | process_sql ;;
            *.sql.xz) note "running ${f}"; xzcat "$f" | process_sql ;;
            *) warn "ignoring ${f}" ;;
        esac
    done
}

wants_help() {
    local arg
    for arg; do
        case "$arg" in
            -'?' | --help | --print-defaults | -V | --version) return 0 ;;
        esac
    done
    return 1
}

main() {
    if [[ "${1:0:1}" == - ]]; then
        set -- mariadbd "$@"
    fi
    if [[ "$1" == mariadbd || "$1" == mysqld ]] && ! wants_help "$@"; then
        server_config "$@"
        file_env MYSQL_ROOT_HOST '%'
        file_env MYSQL_DATABASE
        file_env MYSQL_USER
        file_env MYSQL_PASSWORD
        file_env MYSQL_ROOT_PASSWORD
        file_env MYSQL_ALLOW_EMPTY_PASSWORD
        file_env MYSQL_RANDOM_ROOT_PASSWORD
        file_env MYSQL_ONETIME_PASSWORD
        file_env MYSQL_INITDB_SKIP_TZINFO

        if [[ "$(id -u)" == 0 ]]; then
            check_capabilities
            create_directories
            note "Switching to dedicated user 'mysql'"
            exec gosu mysql "${BASH_SOURCE[0]}" "$@"
        fi
        create_directories

        if [[ ! -d "${DATADIR}/mysql" ]]; then
            verify_minimum_env
            # Fail early when the initialisation scripts cannot be read.
            ls /docker-entrypoint-initdb.d/ >/dev/null
            note "Initializing database files"
            mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
                --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM "${@:2}" >/dev/null
            note "Database files initialized"
            note "Starting temporary server"
            temp_server_start "$@"
            note "Temporary server started"
            setup_db
            process_init_files /docker-entrypoint-initdb.d/*
            if [[ -n "$MYSQL_ONETIME_PASSWORD" ]]; then
                process_sql --database=mysql <<<"ALTER USER 'root'@'%' PASSWORD EXPIRE;"
            fi
            note "Stopping temporary server"
            temp_server_stop
            note "Temporary server stopped"
            note "MySQL init process done. Ready for start up."
        fi
    fi
    exec "$@"
}

main "$@"
