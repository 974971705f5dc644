#!/usr/bin/env bash
# The image datascientest/mysql-k8s as a local program, for the process kubelet: a MariaDB server on
# port ${MYSQL_PORT:-3306} of the Pod (its 127.0.0.1 and its address, where the kubelet's TCP probe
# connects, as to a real container listening on 0.0.0.0) whose root password is $MYSQL_ROOT_PASSWORD and which holds
# hack/seed.sql's Main.Users, as the real image does (mysql's docker-entrypoint initialises the data
# directory once, with the root password and the /docker-entrypoint-initdb.d scripts).
#
# The kubelet runs it inside the Pod's network namespace with the container's directory as the
# working directory (the container's writable layer): the data lives in ./data and survives a
# restart of the container, as it would in an emptyDir. The initialisation runs from --init-file
# before the server accepts connections, so nothing ever answers on the port with another password.
#
#   mysql-image.sh                       run the server (the container's entry point)
#   mysql-image.sh --prepare-template    only make $MYSQL_TEMPLATE_DIR (hack/local-cluster.sh up does)
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
seed="${here}/../seed.sql"
dir="$PWD"
data="${dir}/data"
port="${MYSQL_PORT:-3306}"
# Durability traded for speed: an emulated Pod's database is disposable.
common=(--no-defaults --user=root --innodb-log-file-size=8M --innodb-flush-log-at-trx-commit=0
    --innodb-doublewrite=0)

# mariadb-install-db takes about 5 s here, so it runs once per machine into a template (under a
# lock: several Pods start at once) and each new Pod copies the template (0.1 s).
template="${MYSQL_TEMPLATE_DIR:-${dir}/template}"
prepare_template() {
    mkdir -p "$(dirname "$template")"
    exec 9>"${template}.lock"
    flock 9
    if [[ ! -d "${template}/mysql" ]]; then
        rm -rf "${template}.tmp"
        mariadb-install-db "${common[@]}" --datadir="${template}.tmp" \
            --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
            >"${template}.log" 2>&1 || { cat "${template}.log" >&2; exit 1; }
        mv "${template}.tmp" "$template"
    fi
    exec 9>&-
}

if [[ "${1:-}" == "--prepare-template" ]]; then
    prepare_template
    exit 0
fi

: "${MYSQL_ROOT_PASSWORD:?the MySQL image needs MYSQL_ROOT_PASSWORD (as the real image does)}"
init=()
if [[ ! -d "${data}/mysql" ]]; then
    prepare_template
    rm -rf "$data"
    cp -a "$template" "$data"
    quoted="${MYSQL_ROOT_PASSWORD//\\/\\\\}"
    quoted="${quoted//\'/\\\'}"
    {
        # root from anywhere with the password, as the image's entrypoint sets it up.
        echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${quoted}';"
        echo "ALTER USER 'root'@'%' IDENTIFIED BY '${quoted}';"
        echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${quoted}';"
        echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';"
        cat "$seed"
        echo "FLUSH PRIVILEGES;"
    } >"${dir}/init.sql"
    chmod 600 "${dir}/init.sql"
    init=(--init-file="${dir}/init.sql")
fi

# The socket path is relative to the data directory (mariadbd works there): an absolute path under a
# deep state directory can pass the 108-byte limit of a Unix socket address.
exec mariadbd "${common[@]}" --datadir="$data" --socket=mysqld.sock --pid-file=mysqld.pid \
    --bind-address=0.0.0.0 --port="$port" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=16M --max-connections=100 --log-error="${dir}/error.log" \
    "${init[@]}"
