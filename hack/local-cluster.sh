#!/usr/bin/env bash
# A Kubernetes cluster emulated on this machine, for the quick start and the end-to-end tests:
# the fake API server as a program (tests/LocalCluster: local-cluster apiserver), and a process
# kubelet (local-cluster kubelet) that runs Deployments as Pods (a network namespace each, on the
# bridge uapi0, 10.244.0.1/24; containers are local programs from hack/local-cluster/images.yaml),
# keeps Endpoints, and serves Ingresses of class nginx with nginx on a loopback port.
#
#   hack/local-cluster.sh up       build, start, wait until ready (prints the seconds it took)
#   hack/local-cluster.sh down     stop everything: no process, namespace, bridge, port or state left
#   hack/local-cluster.sh status   say what runs (exit 0 when up, 3 when not)
#   hack/local-cluster.sh env      print the exports, for: eval "$(hack/local-cluster.sh env)"
#
# Needs root (network namespaces). State and logs: .local/cluster (LOCAL_CLUSTER_DIR); down keeps
# only the logs (apiserver.log, kubelet.log, operator.log). LOCAL_CLUSTER_INGRESS_PORT fixes the
# Ingress's HTTP port (default: a free one); LOCAL_CLUSTER_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

state="$(realpath -m "${LOCAL_CLUSTER_DIR:-${repo}/.local/cluster}")"
bridge=uapi0
gateway=10.244.0.1/24
program="${repo}/tests/LocalCluster/bin/Debug/net10.0/local-cluster"

log() { printf '[local-cluster] %s\n' "$*" >&2; }

# Network namespaces, veth pairs and bridges need CAP_NET_ADMIN and CAP_SYS_ADMIN (root has both).
need_root() {
    local caps
    caps=$((16#$(awk '/^CapEff:/ {print $2}' /proc/self/status)))
    if (( (caps >> 12 & 1) == 0 || (caps >> 21 & 1) == 0 )); then
        echo "local-cluster: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for network namespaces); run it with sudo" >&2
        exit 1
    fi
}

alive() { [[ -s "$state/$1.pid" ]] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

install_missing() {
    if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
        log "installing nginx (Debian's package) for the Ingress controller"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
        # Debian's package starts the system nginx on port 80 where it can; this cluster runs its own.
        service nginx stop >/dev/null 2>&1 || true
    fi
    if ! command -v ip >/dev/null 2>&1 && [[ ! -x /usr/sbin/ip ]]; then
        log "installing iproute2 (Debian's package) for the Pods' network namespaces"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
    fi
    hack/mariadb.sh install >/dev/null 2>&1 || hack/mariadb.sh install
}

stop_pid() { # name, seconds
    local name="$1" seconds="$2" pid
    [[ -s "$state/$name.pid" ]] || return 0
    pid="$(cat "$state/$name.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 $((seconds * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$state/$name.pid"
}

cmd_down() {
    need_root
    stop_pid kubelet 30
    stop_pid apiserver 10
    # What a kubelet that died without its clean-up leaves: nginx, Pod namespaces and their processes.
    if [[ -s "$state/nginx/nginx.pid" ]]; then
        kill -KILL "$(cat "$state/nginx/nginx.pid")" 2>/dev/null || true
    fi
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^lc-/ {print $1}'); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        for _ in $(seq 1 50); do [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break; sleep 0.1; done
        ip netns delete "$ns" 2>/dev/null || true
    done
    ip link delete "$bridge" 2>/dev/null || true
    if [[ -d "$state" ]]; then
        find "$state" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec rm -rf {} +
    fi
    log "down"
}

cmd_up() {
    need_root
    if alive apiserver && alive kubelet && [[ -e "$state/kubelet.ready" ]]; then
        log "already up"
        return 0
    fi
    local start=$SECONDS
    install_missing
    if [[ "${LOCAL_CLUSTER_NO_BUILD:-}" != 1 ]]; then
        log "building tests/LocalCluster and src/UserApi"
        dotnet build tests/LocalCluster --nologo -v quiet -clp:"NoSummary;ErrorsOnly" >&2
        dotnet build src/UserApi --nologo -v quiet -clp:"NoSummary;ErrorsOnly" >&2
    fi
    local built=$SECONDS
    [[ -x "$program" ]] || { log "error: $program is missing (dotnet build tests/LocalCluster)"; exit 1; }

    cmd_down 2>/dev/null
    mkdir -p "$state"
    ip link add "$bridge" type bridge
    ip addr add "$gateway" dev "$bridge"
    ip link set "$bridge" up

    # The MySQL image's template data directory (5 s), made while the API server starts.
    MYSQL_TEMPLATE_DIR="$state/cache/mariadb-template" hack/local-cluster/mysql-image.sh --prepare-template &
    local template=$!

    # setsid: the cluster outlives this shell and a Ctrl-C in its terminal.
    setsid "$program" apiserver --state-dir "$state" >"$state/apiserver.log" 2>&1 </dev/null &
    echo $! >"$state/apiserver.pid"
    setsid "$program" kubelet --state-dir "$state" --bridge "$bridge" --gateway "$gateway" \
        --ingress-http-port "${LOCAL_CLUSTER_INGRESS_PORT:-0}" >"$state/kubelet.log" 2>&1 </dev/null &
    echo $! >"$state/kubelet.pid"

    local deadline=$((SECONDS + 60))
    until [[ -e "$state/kubelet.ready" ]]; do
        local part
        for part in apiserver kubelet; do
            if ! alive "$part"; then
                log "error: the $part exited; tail of $state/$part.log:"
                tail -n 20 "$state/$part.log" >&2 || true
                cmd_down 2>/dev/null
                exit 1
            fi
        done
        if ((SECONDS >= deadline)); then
            log "error: not ready within 60 s; see $state/apiserver.log and $state/kubelet.log"
            cmd_down 2>/dev/null
            exit 1
        fi
        sleep 0.1
    done
    wait "$template" || { log "error: the MySQL image's template failed; see $state/cache/mariadb-template.log"; exit 1; }
    log "up in $((SECONDS - start)) s ($((SECONDS - built)) s after the build); for kubectl and curl:"
    cmd_env | sed 's/^/    /' >&2
}

cmd_status() {
    if alive apiserver && alive kubelet && [[ -e "$state/kubelet.ready" ]]; then
        # shellcheck disable=SC1091
        source "$state/ingress.env"
        echo "up: apiserver pid $(cat "$state/apiserver.pid"), kubelet pid $(cat "$state/kubelet.pid"), $(ip netns list | grep -c '^lc-' || true) Pod namespaces, Ingress http://127.0.0.1:${INGRESS_HTTP_PORT}"
    else
        echo "down"
        return 3
    fi
}

cmd_env() {
    [[ -e "$state/kubelet.ready" ]] || { echo "local-cluster: not up (hack/local-cluster.sh up)" >&2; exit 1; }
    # shellcheck disable=SC1091
    source "$state/ingress.env"
    printf 'export KUBECONFIG=%q\n' "$state/kubeconfig"
    printf 'export INGRESS_URL=%q\n' "http://127.0.0.1:${INGRESS_HTTP_PORT}"
    printf 'export INGRESS_HTTPS_URL=%q\n' "https://127.0.0.1:${INGRESS_HTTPS_PORT}"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h|--help|help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
