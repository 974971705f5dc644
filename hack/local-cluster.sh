#!/usr/bin/env bash
# A Kubernetes cluster emulated on this machine, for the quick start and the end-to-end tests:
# the fake API server as a program (tests/LocalCluster: local-cluster apiserver, on loopback and on
# the bridge's gateway 10.244.0.1, where Pods reach it), and a kubelet (local-cluster kubelet) that
# registers the Node, runs Deployments as Pods (a network namespace each, on the bridge uapi0,
# 10.244.0.1/24; every container an OCI container run by runc from the node's image store), serves
# kubectl logs and exec, keeps Endpoints, and serves Ingresses of class nginx with nginx on a
# loopback port.
#
#   hack/local-cluster.sh up          build (the cluster, and the images with hack/build-images.sh), load
#                                     .local/images/*.tar, start, wait until ready (prints the seconds)
#   hack/local-cluster.sh load FILE.. import OCI image archives into the node's image store (kind load image-archive)
#   hack/local-cluster.sh images      list the images in the node's image store
#   hack/local-cluster.sh down        stop everything: no process, container, mount, cgroup, namespace, bridge, port or state left
#   hack/local-cluster.sh status      say what runs (exit 0 when up, 3 when not)
#   hack/local-cluster.sh env         print the exports (KUBECONFIG, INGRESS_URL, INGRESS_HTTPS_URL,
#                                     KUBECACHEDIR), for: eval "$(hack/local-cluster.sh env)"
#
# Needs root (network namespaces, runc). State and logs: .local/cluster (LOCAL_CLUSTER_DIR); down
# keeps only the logs (apiserver.log, audit.log: every API request with its user, kubelet.log).
# The image store is .local/image-store (LOCAL_CLUSTER_IMAGE_STORE) and survives down: a kind node's images go with
# `kind delete cluster`, but this cache is what keeps a second start quick. LOCAL_CLUSTER_INGRESS_PORT
# fixes the Ingress's HTTP port (default: a free one); LOCAL_CLUSTER_NO_BUILD=1 skips both builds
# (the archives already in .local/images are loaded as they are).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

state="$(realpath -m "${LOCAL_CLUSTER_DIR:-${repo}/.local/cluster}")"
bridge=uapi0
gateway=10.244.0.1/24
program="${repo}/tests/LocalCluster/bin/Debug/net10.0/local-cluster"
images="$(realpath -m "${LOCAL_CLUSTER_IMAGE_STORE:-${repo}/.local/image-store}")"
archives="${repo}/.local/images"

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
    # The container runtime: runc (crun refuses this machine's hybrid cgroups), umoci to unpack
    # image layers, and containers-common's seccomp.json, the RuntimeDefault profile.
    local need=()
    command -v runc >/dev/null 2>&1 || need+=(runc)
    command -v umoci >/dev/null 2>&1 || need+=(umoci)
    [[ -e /usr/share/containers/seccomp.json ]] || need+=(golang-github-containers-common)
    if ((${#need[@]})); then
        log "installing ${need[*]} (Debian's packages) for the containers"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    hack/mariadb.sh install >/dev/null 2>&1 || hack/mariadb.sh install
}

# Imports OCI archives into the node's image store; an archive already loaded unchanged (same size
# and time) is skipped, so a second `up` costs nothing here.
cmd_load() {
    need_root
    [[ $# -gt 0 ]] || { echo "usage: hack/local-cluster.sh load FILE..." >&2; exit 2; }
    [[ -x "$program" ]] || { log "error: $program is missing (dotnet build tests/LocalCluster)"; exit 1; }
    mkdir -p "$images/loaded"
    local file stamp
    for file in "$@"; do
        [[ -f "$file" ]] || { log "error: $file: no such file"; exit 1; }
        stamp="$(stat -c '%s %Y' "$file") $(realpath "$file")"
        if [[ -f "$images/loaded/$(basename "$file").stamp" && "$(cat "$images/loaded/$(basename "$file").stamp")" == "$stamp" ]]; then
            continue
        fi
        "$program" images load --store "$images" "$file" | sed 's/^/[local-cluster] /' >&2
        echo "$stamp" >"$images/loaded/$(basename "$file").stamp"
    done
}

# The archives hack/build-images.sh writes to .local/images, as kind load image-archive imports them.
load_archives() {
    local file files=()
    for file in "$archives"/*.tar; do
        [[ -e "$file" ]] && files+=("$file")
    done
    ((${#files[@]})) || { log "no image archives in $archives (hack/build-images.sh writes them)"; return 0; }
    cmd_load "${files[@]}"
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
    stop_pid kubelet 60
    stop_pid apiserver 10
    # What a kubelet that died without its clean-up leaves: nginx, runc's containers (and the
    # `runc run` processes that were their parents), processes left in the cluster's cgroups,
    # overlay and tmpfs mounts, the cgroups, and the Pod namespaces.
    # nginx: its workers too (a master killed with SIGKILL leaves them running, orphaned).
    local master workers
    if [[ -s "$state/nginx/nginx.pid" ]]; then
        master="$(cat "$state/nginx/nginx.pid")"
        workers="$(pgrep -P "$master" 2>/dev/null || true)"
        # shellcheck disable=SC2086
        kill -KILL "$master" $workers 2>/dev/null || true
    fi
    local id
    if [[ -d "$state/runc" ]] && command -v runc >/dev/null 2>&1; then
        for id in $(runc --root "$state/runc" list -q 2>/dev/null); do
            runc --root "$state/runc" kill --all "$id" KILL 2>/dev/null || true
            runc --root "$state/runc" delete --force "$id" 2>/dev/null || true
        done
    fi
    local cg procs
    for cg in /sys/fs/cgroup/*/local-cluster; do
        [[ -d "$cg" ]] || continue
        for _ in $(seq 1 50); do
            procs="$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)"
            [[ -z "$procs" ]] && break
            # shellcheck disable=SC2086
            kill -KILL $procs 2>/dev/null || true
            sleep 0.1
        done
    done
    local mount
    if [[ -d "$state" ]]; then
        # Deepest first; the kernel escapes spaces in /proc/self/mountinfo as \040.
        while read -r mount; do
            umount -l "$mount" 2>/dev/null || true
        done < <(awk -v p="$state/" 'index($5, p) == 1 {print length($5) "\t" $5}' /proc/self/mountinfo | sort -rn | cut -f2-)
    fi
    for cg in /sys/fs/cgroup/*/local-cluster; do
        [[ -d "$cg" ]] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^lc-/ {print $1}'); do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        for _ in $(seq 1 50); do [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break; sleep 0.1; done
        ip netns delete "$ns" 2>/dev/null || true
    done
    ip link delete "$bridge" 2>/dev/null || true
    if [[ -d "$state" ]]; then
        find "$state" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec rm -rf --one-file-system {} +
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
        log "building tests/LocalCluster"
        dotnet build tests/LocalCluster --nologo -v quiet -clp:"NoSummary;ErrorsOnly" >&2
        log "building the images (hack/build-images.sh: a few seconds when nothing changed)"
        hack/build-images.sh --quiet >/dev/null
    fi
    [[ -x "$program" ]] || { log "error: $program is missing (dotnet build tests/LocalCluster)"; exit 1; }
    load_archives
    local built=$SECONDS

    cmd_down 2>/dev/null
    mkdir -p "$state"
    ip link add "$bridge" type bridge
    ip addr add "$gateway" dev "$bridge"
    ip link set "$bridge" up

    # setsid: the cluster outlives this shell and a Ctrl-C in its terminal.
    # The API server also listens on the bridge's gateway, where the Pods reach it: the `kubernetes`
    # Service's Endpoints, and so KUBERNETES_SERVICE_HOST, name that address (no kube-proxy here).
    # audit.log: one JSON line per request (who, verb, URI, code), as kube-apiserver's --audit-log-path.
    rm -f "$state/audit.log"
    setsid "$program" apiserver --state-dir "$state" --advertise-address "${gateway%/*}" --audit-log-path "$state/audit.log" \
        >"$state/apiserver.log" 2>&1 </dev/null &
    echo $! >"$state/apiserver.pid"
    setsid "$program" kubelet --state-dir "$state" --image-store "$images" --bridge "$bridge" --gateway "$gateway" \
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
    log "up in $((SECONDS - start)) s ($((SECONDS - built)) s after the build); for kubectl and curl:"
    cmd_env | sed 's/^/    /' >&2
}

cmd_status() {
    if alive apiserver && alive kubelet && [[ -e "$state/kubelet.ready" ]]; then
        # shellcheck disable=SC1091
        source "$state/ingress.env"
        echo "up: apiserver pid $(cat "$state/apiserver.pid"), kubelet pid $(cat "$state/kubelet.pid"), $(ip netns list | grep -c '^lc-' || true) Pod namespaces, $(runc --root "$state/runc" list -q 2>/dev/null | wc -l) containers, Ingress http://127.0.0.1:${INGRESS_HTTP_PORT}"
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
    # kubectl's discovery and OpenAPI cache is keyed by host and port; loopback ports are reused by
    # every API server started on this machine, so this cluster gets a cache of its own.
    printf 'export KUBECACHEDIR=%q\n' "$state/kubectl-cache"
}

case "${1:-}" in
    up) cmd_up ;;
    load) shift; cmd_load "$@" ;;
    images) [[ -x "$program" ]] || { log "error: $program is missing"; exit 1; }; "$program" images list --store "$images" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h|--help|help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
