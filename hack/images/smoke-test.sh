#!/usr/bin/env bash
# Runs each built image with runc (Debian's runc; crun refuses this machine's hybrid cgroup layout)
# from its OCI archive in .local/images, under the security context the operator gives its
# container, and checks it from the kernel's side (/proc/<pid>/status, mountinfo, the cgroup's
# files) and from the network:
#
#   userapi            uid 1654 (the image's USER), read-only root, an empty /tmp (the Deployment's
#                      emptyDir), no capabilities, no_new_privs, 256Mi memory limit, in a network
#                      namespace made for it: GET /status answers 1.
#   userapi-operator   the same context: `--help` prints its usage.
#   mysql-k8s          root, exactly CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID, no_new_privs,
#                      writable root, an empty /var/lib/mysql: the server runs as mysql, answers
#                      SQL over TCP with MYSQL_ROOT_PASSWORD (and refuses a wrong one) and holds
#                      hack/seed.sql's Main.Users, again after a restart on the same data, and as
#                      uid 999 without capabilities; without any one of the five capabilities (as
#                      root) it stops at once, naming it.
#
# Usage: hack/images/smoke-test.sh [IMAGE...]      (default: the three; build them first with
#                                                  hack/build-images.sh)
# It prints one line per check and "smoke: N passed, N failed"; exit code 1 on a failure. It leaves
# no container, network namespace, cgroup or mount behind (its state is in a temporary directory
# under .local/, with its own runc state root). Needs root.
set -euo pipefail

# shellcheck source=hack/images/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[[ "$(id -u)" == 0 ]] || die "the smoke test needs root (runc, network namespaces)"
selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=(userapi userapi-operator mysql-k8s)
for key in "${selected[@]}"; do
    case "$key" in
        userapi | userapi-operator | mysql-k8s) [[ -f "${IMAGES_OUT}/${key}.tar" ]] || die "${IMAGES_OUT}/${key}.tar is missing: run hack/build-images.sh ${key}" ;;
        *) die "unknown image: ${key} (one of: userapi userapi-operator mysql-k8s)" ;;
    esac
done
IMAGES_LOG="$(mktemp)"
need_packages runc umoci jq iproute2 curl

mkdir -p "${IMAGES_REPO}/.local"
work="$(mktemp -d "${IMAGES_REPO}/.local/smoke.XXXXXX")"
RUNC=(runc --root "${work}/runc")
containers=()
netns=()
remove_containers() {
    local id ns
    for id in "${containers[@]}"; do
        "${RUNC[@]}" delete --force "$id" >/dev/null 2>&1 || true
    done
    for ns in "${netns[@]}"; do
        ip netns delete "$ns" 2>/dev/null || true
    done
    containers=()
    netns=()
}
cleanup() {
    remove_containers
    rm -rf "$work" "$IMAGES_LOG"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check DESCRIPTION COMMAND...: one line, pass or fail
    local what="$1"
    shift
    if "$@"; then
        printf '  ok    %s\n' "$what"
        passed=$((passed + 1))
    else
        printf '  FAIL  %s\n' "$what"
        failed=$((failed + 1))
    fi
}
equals() { # equals EXPECTED ACTUAL
    [[ "$1" == "$2" ]] || { printf '        expected %q, got %q\n' "$1" "$2"; return 1; }
}
contains() { # contains NEEDLE HAYSTACK
    [[ "$2" == *"$1"* ]] || { printf '        %q not in:\n%s\n' "$1" "$(printf '%s' "$2" | tail -n 15 | sed 's/^/        | /')"; return 1; }
}

# unpack KEY: the image's archive -> ${work}/KEY/{layout,bundle/rootfs}; IMAGE_CONFIG is its config
# (the OCI image config's .config object), found through index.json -> manifest -> config.
unpack() {
    local key="$1" dir="${work}/$1" manifest config
    mkdir -p "${dir}/layout" "${dir}/bundle"
    tar -xf "${IMAGES_OUT}/${key}.tar" -C "${dir}/layout"
    manifest="$(jq -r '.manifests[0].digest' "${dir}/layout/index.json")"
    config="$(jq -r '.config.digest' "${dir}/layout/blobs/${manifest/://}")"
    IMAGE_CONFIG="$(jq -c '.config' "${dir}/layout/blobs/${config/://}")"
    umoci raw unpack --image "${dir}/layout:$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "${dir}/layout/index.json")" \
        "${dir}/bundle/rootfs" >>"$IMAGES_LOG" 2>&1 || die "umoci could not unpack ${key}.tar (see above)"
}

# passwd_gid ROOTFS UID: the primary group of a uid in the image's /etc/passwd (0 when absent), as
# containerd's WithUserID resolves a numeric USER.
passwd_gid() {
    awk -F: -v uid="$2" '$3 == uid { print $4; found = 1; exit } END { if (!found) print 0 }' "$1/etc/passwd"
}

# write_spec KEY ARGS-JSON ENV-JSON UID GID READONLY CAPS-JSON MEMORY NETNS MOUNTS-JSON: config.json of
# the bundle, from `runc spec` with the process, root, capabilities, limits and mounts replaced.
write_spec() {
    local key="$1" bundle="${work}/$1/bundle"
    rm -f "${bundle}/config.json"
    (cd "$bundle" && runc spec)
    jq --argjson args "$2" --argjson env "$3" --argjson uid "$4" --argjson gid "$5" --argjson ro "$6" \
        --argjson caps "$7" --argjson memory "$8" --arg netns "$9" --argjson mounts "${10}" \
        --arg cwd "$(jq -r '.WorkingDir // "/" | if . == "" then "/" else . end' <<<"$IMAGE_CONFIG")" \
        --arg cgroup "/userapi-smoke-$$-${key}" --arg hostname "smoke-${key}" '
        .process.terminal = false
        | .process.args = $args | .process.env = $env | .process.cwd = $cwd
        | .process.user = {uid: $uid, gid: $gid}
        | .process.noNewPrivileges = true
        | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
        | .root.readonly = $ro
        | .hostname = $hostname
        | .mounts += $mounts
        | .linux.cgroupsPath = $cgroup
        | (if $memory > 0 then .linux.resources.memory = {limit: $memory, swap: $memory} else . end)
        | (if $netns != "" then .linux.namespaces |= map(if .type == "network" then .path = $netns else . end) else . end)
        ' "${bundle}/config.json" >"${bundle}/config.json.new"
    mv "${bundle}/config.json.new" "${bundle}/config.json"
}

# empty_dir NAME: a fresh directory as the kubelet makes an emptyDir (root, mode 0777).
empty_dir() {
    mkdir -p "${work}/volumes/$1"
    chmod 0777 "${work}/volumes/$1"
    echo "${work}/volumes/$1"
}

bind() { # bind SOURCE DESTINATION: a mounts entry
    jq -nc --arg s "$1" --arg d "$2" '{destination: $d, type: "bind", source: $s, options: ["rbind", "rw", "nosuid", "nodev"]}'
}

new_netns() { # new_netns NAME: a network namespace with its loopback up
    ip netns add "$1"
    netns+=("$1")
    ip -n "$1" link set lo up
}

# start KEY: runc run --detach, output to ${work}/KEY.log; sets PID to the container's init pid (in
# this shell, not a subshell, so that cleanup knows the container).
start() {
    local id="smoke-$$-$1"
    containers+=("$id")
    "${RUNC[@]}" run --detach --bundle "${work}/$1/bundle" "$id" </dev/null >"${work}/$1.log" 2>&1 \
        || { cat "${work}/$1.log" >&2; die "runc could not start ${1}"; }
    PID="$("${RUNC[@]}" state "$id" | jq -r .pid)"
}

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds, or fails after SECONDS.
wait_for() {
    local limit="$1" what="$2" deadline
    shift 2
    deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            printf '  FAIL  %s within %s s\n' "$what" "$limit"
            failed=$((failed + 1))
            return 1
        fi
        sleep 0.2
    done
}

status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status"; }
root_mount_options() { awk '$5 == "/" { print $6; exit }' "/proc/$1/mountinfo"; }
memory_limit() {
    local path
    path="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' "/proc/$1/cgroup")"
    cat "/sys/fs/cgroup/memory${path}/memory.limit_in_bytes"
}
image_env() { jq -c '.Env // []' <<<"$IMAGE_CONFIG"; }
image_args() { jq -c --argjson extra "${1:-[]}" '(.Entrypoint // []) + (if ($extra | length) > 0 then $extra else (.Cmd // []) end)' <<<"$IMAGE_CONFIG"; }
MEMORY=$((256 * 1024 * 1024))
NO_CAPS='[]'

smoke_userapi() {
    echo "==> userapi.tar"
    unpack userapi
    local rootfs="${work}/userapi/bundle/rootfs" uid gid ns="smoke-$$-api" pid start body
    uid="$(jq -r '.User' <<<"$IMAGE_CONFIG")"
    check "image USER is numeric 1654 (\$APP_UID resolved)" equals 1654 "$uid"
    check "no shell in the image (/bin/sh, /usr/bin/sh absent)" test ! -e "${rootfs}/usr/bin/sh" -a ! -e "${rootfs}/bin/sh"
    check "no package manager (dpkg, apt absent)" test ! -e "${rootfs}/usr/bin/dpkg" -a ! -e "${rootfs}/usr/bin/apt-get" -a ! -e "${rootfs}/var/lib/dpkg"
    gid="$(passwd_gid "$rootfs" "$uid")"
    new_netns "$ns"
    write_spec userapi "$(image_args)" "$(image_env)" "$uid" "$gid" true "$NO_CAPS" "$MEMORY" "/var/run/netns/${ns}" \
        "[$(bind "$(empty_dir api-tmp)" /tmp)]"
    start="$(now)"
    start userapi
    pid="$PID"
    if wait_for 60 "GET /status" ip netns exec "$ns" curl -sf --max-time 2 http://127.0.0.1:8000/status; then
        say "        first answer $(elapsed "$start") s after runc run"
        body="$(ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:8000/status)"
        check "GET /status answers 1 in the container's network namespace" equals 1 "$body"
    else
        sed 's/^/        | /' "${work}/userapi.log" | tail -n 20
    fi
    check "runs as uid 1654 (kernel: Uid)" equals "1654 1654 1654 1654" "$(status_field "$pid" Uid)"
    check "no capabilities (kernel: CapEff, CapBnd)" equals "0000000000000000 0000000000000000" "$(status_field "$pid" CapEff) $(status_field "$pid" CapBnd)"
    check "no_new_privs (kernel: NoNewPrivs)" equals 1 "$(status_field "$pid" NoNewPrivs)"
    check "read-only root filesystem (kernel: mountinfo)" contains "ro" ",$(root_mount_options "$pid"),"
    check "256Mi memory limit (kernel: memory cgroup)" equals "$MEMORY" "$(memory_limit "$pid")"
    say "        resident memory $(status_field "$pid" VmRSS) after the first requests"
    "${RUNC[@]}" kill "smoke-$$-userapi" TERM
    wait_for 30 "exit on SIGTERM" bash -c "! kill -0 $pid" && check "stops on SIGTERM" true
}

smoke_operator() {
    echo "==> userapi-operator.tar"
    unpack userapi-operator
    local rootfs="${work}/userapi-operator/bundle/rootfs" uid gid output rc=0
    uid="$(jq -r '.User' <<<"$IMAGE_CONFIG")"
    check "image USER is numeric 1654 (\$APP_UID resolved)" equals 1654 "$uid"
    gid="$(passwd_gid "$rootfs" "$uid")"
    write_spec userapi-operator "$(image_args '["--help"]')" "$(image_env)" "$uid" "$gid" true "$NO_CAPS" "$MEMORY" "" \
        "[$(bind "$(empty_dir operator-tmp)" /tmp)]"
    containers+=("smoke-$$-operator")
    output="$(timeout 120 "${RUNC[@]}" run --bundle "${work}/userapi-operator/bundle" "smoke-$$-operator" </dev/null 2>&1)" || rc=$?
    check "--help exits 0 as uid 1654 on a read-only root without capabilities" equals 0 "$rc"
    check "--help prints the usage" contains "usage: userapi-operator" "$output"
}

smoke_mysql() {
    echo "==> mysql-k8s.tar"
    unpack mysql-k8s
    local caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_SETGID","CAP_SETUID"]'
    local password ns="smoke-$$-db" pid start env sql rows seeded rc=0 output
    password="pw-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')'\"x"
    env="$(jq -c --arg p "$password" '. + ["MYSQL_ROOT_PASSWORD=" + $p]' <<<"$(image_env)")"
    new_netns "$ns"
    write_spec mysql-k8s "$(image_args)" "$env" 0 0 false "$caps" "$MEMORY" "/var/run/netns/${ns}" \
        "[$(bind "$(empty_dir mysql-data)" /var/lib/mysql)]"
    start="$(now)"
    start mysql-k8s
    pid="$PID"
    sql=("${RUNC[@]}" exec --user 999:999 "smoke-$$-mysql-k8s" mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot)
    if wait_for 120 "SQL over TCP with the root password" "${sql[@]}" "-p${password}" -e 'SELECT 1'; then
        say "        first SQL answer $(elapsed "$start") s after runc run"
        rows="$("${sql[@]}" "-p${password}" -N -e 'SELECT COUNT(*) FROM Main.Users')"
        seeded="$(grep -cE '^\s*\([0-9]+,' "${IMAGES_REPO}/hack/seed.sql")"
        check "Main.Users holds hack/seed.sql's ${seeded} rows" equals "$seeded" "$rows"
        check "user 1 is Alice" equals Alice "$("${sql[@]}" "-p${password}" -N -e 'SELECT username FROM Main.Users WHERE user_id = 1')"
        check "a wrong password is refused" bash -c '! "$@" -pwrong -e "SELECT 1" 2>/dev/null' _ "${sql[@]}"
        check "root without a password is refused over TCP" bash -c '! "$@" -e "SELECT 1" 2>/dev/null' _ "${sql[@]}"
        check "listens on 0.0.0.0:3306 (kernel: /proc/net/tcp of the namespace)" \
            bash -c "ip netns exec '$ns' awk '\$2 == \"00000000:0CEA\" && \$4 == \"0A\"' /proc/net/tcp | grep -q ."
    else
        sed 's/^/        | /' "${work}/mysql-k8s.log" | tail -n 30
    fi
    check "the server runs as mysql, uid 999 (kernel: Uid)" equals "999 999 999 999" "$(status_field "$pid" Uid)"
    check "bounding set exactly the five capabilities (kernel: CapBnd 0xcb)" equals 00000000000000cb "$(status_field "$pid" CapBnd)"
    check "no_new_privs (kernel: NoNewPrivs)" equals 1 "$(status_field "$pid" NoNewPrivs)"
    check "data directory owned by mysql" equals "999:999" "$(stat -c %u:%g "${work}/volumes/mysql-data")"
    "${RUNC[@]}" kill "smoke-$$-mysql-k8s" TERM
    wait_for 60 "exit on SIGTERM" bash -c "! kill -0 $pid" && check "stops on SIGTERM" true

    # A restart of the container on the same data directory (what the kubelet does after a crash):
    # the data and the password stay, nothing is initialised again.
    "${RUNC[@]}" delete --force "smoke-$$-mysql-k8s" >/dev/null 2>&1 || true
    start="$(now)"
    start mysql-k8s
    pid="$PID"
    if wait_for 120 "SQL after a restart on the same data directory" "${sql[@]}" "-p${password}" -e 'SELECT 1'; then
        say "        first SQL answer $(elapsed "$start") s after the restart"
        check "after a restart Main.Users still holds its rows" equals "$seeded" "$("${sql[@]}" "-p${password}" -N -e 'SELECT COUNT(*) FROM Main.Users')"
        check "after a restart nothing was initialised again" bash -c "! grep -q 'Initializing database files' '${work}/mysql-k8s.log'"
    else
        sed 's/^/        | /' "${work}/mysql-k8s.log" | tail -n 30
    fi
    "${RUNC[@]}" delete --force "smoke-$$-mysql-k8s" >/dev/null 2>&1 || true

    # As the mysql user itself (a securityContext with runAsUser: 999), with no capability at all:
    # nothing to chown or switch, the official image's non-root path.
    write_spec mysql-k8s "$(image_args)" "$env" 999 999 false "$NO_CAPS" "$MEMORY" "/var/run/netns/${ns}" \
        "[$(bind "$(empty_dir mysql-data-999)" /var/lib/mysql)]"
    start mysql-k8s
    pid="$PID"
    if wait_for 120 "SQL as runAsUser 999 without capabilities" "${sql[@]}" "-p${password}" -e 'SELECT 1'; then
        check "as uid 999 without capabilities it initialises and serves Main.Users" \
            equals "$seeded" "$("${sql[@]}" "-p${password}" -N -e 'SELECT COUNT(*) FROM Main.Users')"
        check "as uid 999: no capabilities (kernel: CapEff, CapBnd)" equals "0000000000000000 0000000000000000" "$(status_field "$pid" CapEff) $(status_field "$pid" CapBnd)"
    else
        sed 's/^/        | /' "${work}/mysql-k8s.log" | tail -n 30
    fi
    "${RUNC[@]}" delete --force "smoke-$$-mysql-k8s" >/dev/null 2>&1 || true

    # Without any one of the five: a clear error naming it and a non-zero exit, at once.
    local missing
    for missing in CHOWN DAC_OVERRIDE FOWNER SETGID SETUID; do
        caps="$(jq -nc --arg m "CAP_${missing}" '["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_SETGID","CAP_SETUID"] - [$m]')"
        write_spec mysql-k8s "$(image_args)" "$env" 0 0 false "$caps" "$MEMORY" "" \
            "[$(bind "$(empty_dir "mysql-data-no-${missing}")" /var/lib/mysql)]"
        containers+=("smoke-$$-no-${missing,,}")
        rc=0
        output="$(timeout 60 "${RUNC[@]}" run --bundle "${work}/mysql-k8s/bundle" "smoke-$$-no-${missing,,}" </dev/null 2>&1)" || rc=$?
        # shellcheck disable=SC2016 # the inner bash expands them
        check "without ${missing} it exits at once with an error naming it (exit ${rc})" \
            bash -c '[[ "$1" != 0 && "$1" != 124 && "$2" == *"without the capabilities $3 "* ]]' _ "$rc" "$output" "$missing"
    done
}

total="$(now)"
for key in "${selected[@]}"; do
    case "$key" in
        userapi) smoke_userapi ;;
        userapi-operator) smoke_operator ;;
        mysql-k8s) smoke_mysql ;;
    esac
done
remove_containers
echo "==> cleanup"
check "no runc container left" equals "" "$("${RUNC[@]}" list --quiet 2>/dev/null)"
check "no network namespace left" equals "" "$(ip netns list | grep "smoke-$$-" || true)"
check "no cgroup left" equals "" "$(find /sys/fs/cgroup -maxdepth 2 -name "userapi-smoke-$$-*" 2>/dev/null)"
check "no mount left" equals "" "$(grep -F "$work" /proc/self/mountinfo || true)"
echo "smoke: ${passed} passed, ${failed} failed ($(elapsed "$total") s)"
[[ "$failed" == 0 ]]
