#!/usr/bin/env bash
# Stand-in images for the local cluster until hack/build-images.sh builds the real ones: writes
# OCI archives (oci-archive, as `buildah push IMAGE oci-archive:FILE:NAME` writes them) that
# `hack/local-cluster.sh load` imports into the node's image store:
#
#   .local/images/standin-userapi.tar     docker.io/library/userapi:latest
#   .local/images/standin-mysql-k8s.tar   docker.io/datascientest/mysql-k8s:1.0.0
#
# Each is a Debian 12 minbase root (mmdebstrap) with, for userapi, the machine's .NET runtime and
# `dotnet publish` of src/UserApi, run as uid 1654 (the aspnet image's `app` user) with ENTRYPOINT
# ["dotnet", "userapi.dll"], as Dockerfile.api's runtime stage; for mysql-k8s, MariaDB from Debian
# with hack/seed.sql, and an entrypoint that starts as root, sets the root password from
# MYSQL_ROOT_PASSWORD on first start, chowns its data directory and drops to the mysql user
# (setpriv), the contract of the official MySQL image's docker-entrypoint.sh. Both carry the
# annotation org.opencontainers.image.description "local stand-in ..." so nobody mistakes them.
#
#   hack/local-cluster/standin-images.sh           build what is missing or stale (about 3 minutes the first
#                                                  time; after a change to src/UserApi about 30 s)
#   hack/local-cluster/standin-images.sh --force   rebuild both
#
# Needs root (mmdebstrap, buildah); installs mmdebstrap and buildah from Debian when missing.
# buildah uses a storage of its own under .local/standin-buildah, so nothing else's images change.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
out="${repo}/.local/images"
work="${repo}/.local/standin-build"
cache="${repo}/.local/standin-cache"
store=(--root "${repo}/.local/standin-buildah/root" --runroot "${repo}/.local/standin-buildah/run" --storage-driver vfs)
force=0
[[ "${1:-}" == "--force" ]] && force=1
[[ "${1:-}" =~ ^(-h|--help)$ ]] && { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

log() { printf '[standin-images] %s\n' "$*" >&2; }

need() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 (Debian's package)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

[[ "$(id -u)" == 0 ]] || { echo "standin-images: needs root (mmdebstrap and buildah unpack root filesystems)" >&2; exit 1; }
mkdir -p "$out" "$work" "$cache"

# commit ROOTFS_TAR NAME FILE APP_DIR CONFIG...: an image of a root filesystem (and APP_DIR at /app
# as a layer of its own, when not empty, over a base image kept between builds), pushed as an OCI archive.
commit() {
    local rootfs="$1" name="$2" file="$3" app="$4" ctr base="standin-base-${2//[\/:]/-}"
    need buildah buildah
    shift 4
    if [[ -z "$app" ]] || ! buildah "${store[@]}" inspect --type image "$base" >/dev/null 2>&1; then
        ctr="$(buildah "${store[@]}" from --quiet scratch)"
        buildah "${store[@]}" add --quiet "$ctr" "$rootfs" / >/dev/null
        if [[ -n "$app" ]]; then
            buildah "${store[@]}" commit --quiet --rm "$ctr" "$base" >/dev/null
        fi
    fi
    if [[ -n "$app" ]]; then
        ctr="$(buildah "${store[@]}" from --quiet "$base")"
        buildah "${store[@]}" add --quiet --chown 0:0 "$ctr" "$app" /app >/dev/null
    fi
    buildah "${store[@]}" config "$@" \
        --annotation "org.opencontainers.image.description=local stand-in built by hack/local-cluster/standin-images.sh; not the real image, never push it" \
        "$ctr"
    buildah "${store[@]}" commit --quiet --rm "$ctr" "standin-${name//[\/:]/-}" >/dev/null
    rm -f "$file.tmp"
    buildah "${store[@]}" push --quiet "standin-${name//[\/:]/-}" "oci-archive:$file.tmp:$name"
    mv "$file.tmp" "$file"
}

# The hash of what the userapi image is built from: a change to src/UserApi rebuilds it.
userapi_sources() {
    git ls-files -z src/UserApi Directory.Build.props Directory.Packages.props .editorconfig 2>/dev/null \
        | xargs -0 sha256sum | sha256sum | cut -c1-16
}

userapi() {
    local file="${out}/standin-userapi.tar" start=$SECONDS sources base="${cache}/userapi-base.tar"
    sources="$(userapi_sources)"
    [[ $force == 0 && -s "$file" && "$(cat "$file.sources" 2>/dev/null)" == "$sources" ]] && return 0
    log "userapi:latest: dotnet publish src/UserApi onto a Debian root with the machine's .NET runtime"
    rm -rf "$work/userapi" && mkdir -p "$work/userapi/app"
    dotnet publish src/UserApi/UserApi.csproj -c Release -o "$work/userapi/app" -p:UseAppHost=false --nologo -v quiet >&2
    if [[ $force == 1 || ! -s "$base" ]]; then
        need mmdebstrap mmdebstrap
        local dotnet
        dotnet="$(dirname "$(readlink -f "$(command -v dotnet)")")"
        # The chiseled aspnet image: no shell in use (the entry point is exec form), the app user 1654.
        mmdebstrap --quiet --variant=minbase --include=libssl3,ca-certificates,libstdc++6,zlib1g \
            --customize-hook="mkdir -p \"\$1/usr/share/dotnet\" \"\$1/app\"" \
            --customize-hook="cp -a '$dotnet/dotnet' '$dotnet/host' '$dotnet/shared' \"\$1/usr/share/dotnet/\"" \
            --customize-hook="ln -sf /usr/share/dotnet/dotnet \"\$1/usr/bin/dotnet\"" \
            --customize-hook="chroot \"\$1\" groupadd --gid 1654 app" \
            --customize-hook="chroot \"\$1\" useradd --uid 1654 --gid 1654 --no-create-home --shell /usr/sbin/nologin app" \
            --customize-hook="rm -rf \"\$1/var/cache/apt\"/* \"\$1/var/lib/apt/lists\"/*" \
            bookworm "$base.tmp" >&2
        mv "$base.tmp" "$base"
        buildah "${store[@]}" rmi --force "standin-base-docker.io-library-userapi-latest" >/dev/null 2>&1 || true
    fi
    commit "$base" docker.io/library/userapi:latest "$file" "$work/userapi/app" \
        --user 1654 --workingdir /app --entrypoint '["dotnet", "userapi.dll"]' \
        --env APP_UID=1654 --env ASPNETCORE_HTTP_PORTS=8080 --env DOTNET_RUNNING_IN_CONTAINER=true \
        --env ASPNETCORE_URLS=http://0.0.0.0:8000 --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_NOLOGO=1 \
        --port 8000
    echo "$sources" >"$file.sources"
    log "userapi:latest: $file ($((SECONDS - start)) s)"
}

mysql() {
    local file="${out}/standin-mysql-k8s.tar" start=$SECONDS
    [[ $force == 0 && -s "$file" ]] && return 0
    log "datascientest/mysql-k8s:1.0.0: MariaDB from Debian with hack/seed.sql"
    need mmdebstrap mmdebstrap
    rm -rf "$work/mysql" && mkdir -p "$work/mysql"
    cp hack/seed.sql "$work/mysql/seed.sql"
    cat >"$work/mysql/entrypoint.sh" <<'EOF'
#!/bin/bash
# Stand-in for the MySQL image's docker-entrypoint.sh: as root, make and chown the data and socket
# directories, set the root password from MYSQL_ROOT_PASSWORD and load /docker-entrypoint-initdb.d
# on first start (--init-file, before the server takes connections), then run mysqld as mysql.
set -euo pipefail
if [[ "${1:-}" == -* || $# == 0 ]]; then set -- mariadbd "$@"; fi
if [[ "$1" == mariadbd || "$1" == mysqld ]] && [[ "$(id -u)" == 0 ]]; then
    : "${MYSQL_ROOT_PASSWORD:?database is uninitialized and password option is not specified: MYSQL_ROOT_PASSWORD}"
    mkdir -p /var/lib/mysql /run/mysqld
    chown -R mysql:mysql /var/lib/mysql /run/mysqld
    init=()
    if [[ ! -e /var/lib/mysql/.initialised ]]; then
        q="${MYSQL_ROOT_PASSWORD//\\/\\\\}"; q="${q//\'/\\\'}"
        {
            echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${q}';"
            echo "ALTER USER 'root'@'%' IDENTIFIED BY '${q}';"
            echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"
            echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${q}';"
            if [[ -n "${MYSQL_DATABASE:-}" ]]; then echo "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE}\`;"; fi
            cat /docker-entrypoint-initdb.d/*.sql 2>/dev/null || true
            echo "FLUSH PRIVILEGES;"
        } >/run/mysqld/init.sql
        chown mysql:mysql /run/mysqld/init.sql
        chmod 600 /run/mysqld/init.sql
        touch /var/lib/mysql/.initialised
        init=(--init-file=/run/mysqld/init.sql)
    fi
    exec setpriv --reuid=mysql --regid=mysql --init-groups "$@" "${init[@]}"
fi
exec "$@"
EOF
    chmod 755 "$work/mysql/entrypoint.sh"
    mmdebstrap --quiet --variant=minbase --include=mariadb-server \
        --customize-hook="mkdir -p \"\$1/docker-entrypoint-initdb.d\"" \
        --customize-hook="cp '$work/mysql/seed.sql' \"\$1/docker-entrypoint-initdb.d/seed.sql\"" \
        --customize-hook="cp '$work/mysql/entrypoint.sh' \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
        --customize-hook="printf '[mariadbd]\nbind-address=0.0.0.0\nskip-name-resolve\ncharacter-set-server=utf8mb4\ncollation-server=utf8mb4_unicode_ci\ninnodb-buffer-pool-size=16M\ninnodb-log-file-size=8M\ninnodb-flush-log-at-trx-commit=0\n' >\"\$1/etc/mysql/mariadb.conf.d/90-standin.cnf\"" \
        --customize-hook="chroot \"\$1\" mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force >\"\$1/tmp/install-db.log\" 2>&1 || { cat \"\$1/tmp/install-db.log\"; exit 1; }" \
        --customize-hook="rm -rf \"\$1/var/cache/apt\"/* \"\$1/var/lib/apt/lists\"/*" \
        bookworm "$work/mysql/root.tar" >&2
    commit "$work/mysql/root.tar" docker.io/datascientest/mysql-k8s:1.0.0 "$file" "" \
        --entrypoint '["docker-entrypoint.sh"]' --cmd '["mariadbd"]' --port 3306 \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    log "datascientest/mysql-k8s:1.0.0: $file ($((SECONDS - start)) s)"
}

userapi
mysql
rm -rf "$work"
