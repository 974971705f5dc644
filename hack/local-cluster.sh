#!/usr/bin/env bash
# A Kubernetes cluster emulated on this machine, for the quick start and the end-to-end tests:
# the fake API server as a program (tests/LocalCluster: local-cluster apiserver, on loopback and on
# the bridge's gateway 10.244.0.1, where Pods reach it); one kubelet per node (local-cluster kubelet)
# that registers its Node and runs the Pods bound to it (a network namespace each, on the shared
# bridge uapi0, 10.244.0.1/24, each node handing out addresses from its own slice of it; every
# container an OCI container run by runc from the image store) and serves kubectl logs and exec;
# and one controller manager (local-cluster controller-manager): Deployments, Endpoints, garbage
# collection, the nginx Ingress controller on a loopback port, the scheduler, the node lifecycle
# controller, the disruption controller, the HorizontalPodAutoscaler controller and metrics-server
# (metrics.k8s.io from the Pods' cgroups, on 10.244.0.1:LOCAL_CLUSTER_METRICS_PORT, default 4443).
#
#   hack/local-cluster.sh up [--nodes N] [--node-cpu Q] [--node-memory Q]
#                                     build (the cluster, and the images with hack/build-images.sh), load
#                                     .local/images/*.tar, start, wait until ready (prints the seconds).
#                                     --nodes N (1 to 8, default 1 or LOCAL_CLUSTER_NODES): nodes named
#                                     local-cluster, local-cluster-m02, local-cluster-m03... (as minikube
#                                     names them), zones zone-a, zone-b, zone-c in turn; --node-cpu and
#                                     --node-memory (or LOCAL_CLUSTER_NODE_CPU, LOCAL_CLUSTER_NODE_MEMORY):
#                                     each node's capacity (default the machine's)
#   hack/local-cluster.sh load FILE.. import OCI image archives into the node's image store (kind load image-archive)
#   hack/local-cluster.sh images      list the images in the node's image store
#   hack/local-cluster.sh down        stop everything: no process, container, mount, cgroup, namespace, bridge, port or state left
#   hack/local-cluster.sh status      say what runs (exit 0 when up, 3 when not)
#   hack/local-cluster.sh env         print the exports (KUBECONFIG, INGRESS_URL, INGRESS_HTTPS_URL,
#                                     KUBECACHEDIR), for: eval "$(hack/local-cluster.sh env)"
#
# Needs root (network namespaces, runc). State and logs: .local/cluster (LOCAL_CLUSTER_DIR); the first
# node's kubelet keeps its state there too, every other node under nodes/<name>. down keeps only the
# logs (apiserver.log, audit.log: every API request with its user, controller-manager.log,
# kubelet.log for the first node, kubelet-<name>.log for the others).
# LOCAL_CLUSTER_HPA_DOWNSCALE_STABILIZATION (seconds, default 300) and
# LOCAL_CLUSTER_NODE_MONITOR_GRACE_PERIOD (seconds, default 40) set the controller manager's
# --horizontal-pod-autoscaler-downscale-stabilization and --node-monitor-grace-period.
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
metrics_port="${LOCAL_CLUSTER_METRICS_PORT:-4443}"
first_node=local-cluster

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

# Node i (0-based): its name, its process name (pid and log file), its kubelet root directory.
node_name() { (($1 == 0)) && echo "$first_node" || printf '%s-m%02d\n' "$first_node" $(($1 + 1)); }
node_part() { (($1 == 0)) && echo kubelet || echo "kubelet-$(node_name "$1")"; }
node_root() { (($1 == 0)) && echo "$state" || echo "$state/nodes/$(node_name "$1")"; }
# The nodes of the cluster that runs (from the names the API server was given), else 0.
node_count() { [[ -s "$state/nodes.count" ]] && cat "$state/nodes.count" || echo 1; }

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
    # The kubelets at once (each stops its Pods), then the controllers, then the API server.
    local pidfile part
    for pidfile in "$state"/kubelet*.pid; do
        [[ -e "$pidfile" ]] || continue
        part="$(basename "$pidfile" .pid)"
        stop_pid "$part" 60 &
    done
    wait
    stop_pid controller-manager 15
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
    local id root
    for root in "$state/runc" "$state"/nodes/*/runc; do
        if [[ -d "$root" ]] && command -v runc >/dev/null 2>&1; then
            for id in $(runc --root "$root" list -q 2>/dev/null); do
                runc --root "$root" kill --all "$id" KILL 2>/dev/null || true
                runc --root "$root" delete --force "$id" 2>/dev/null || true
            done
        fi
    done
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
    local nodes="${LOCAL_CLUSTER_NODES:-1}" cpu="${LOCAL_CLUSTER_NODE_CPU:-}" memory="${LOCAL_CLUSTER_NODE_MEMORY:-}"
    while (($#)); do
        case "$1" in
            --nodes) [[ $# -ge 2 ]] || { log "error: --nodes needs a number"; exit 2; }; nodes="$2"; shift 2 ;;
            --nodes=*) nodes="${1#--nodes=}"; shift ;;
            --node-cpu) [[ $# -ge 2 ]] || { log "error: --node-cpu needs a quantity"; exit 2; }; cpu="$2"; shift 2 ;;
            --node-memory) [[ $# -ge 2 ]] || { log "error: --node-memory needs a quantity"; exit 2; }; memory="$2"; shift 2 ;;
            *) log "error: up: unexpected argument '$1' (up [--nodes N] [--node-cpu Q] [--node-memory Q])"; exit 2 ;;
        esac
    done
    if ! [[ "$nodes" =~ ^[1-8]$ ]]; then
        log "error: --nodes (LOCAL_CLUSTER_NODES) must be a number from 1 to 8, not '$nodes'"
        exit 2
    fi
    need_root
    if cluster_ready; then
        if (($(node_count) != nodes)); then
            log "error: a cluster of $(node_count) node(s) is up; hack/local-cluster.sh down first"
            exit 1
        fi
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
    # metrics.k8s.io: the controller manager's metrics-server on the gateway, registered as
    # metrics-server's manifest registers it (the API server proxies to it).
    echo "$nodes" >"$state/nodes.count"
    local i node_args=()
    for ((i = 0; i < nodes; i++)); do node_args+=(--node-name "$(node_name "$i")"); done
    setsid "$program" apiserver --state-dir "$state" --advertise-address "${gateway%/*}" --audit-log-path "$state/audit.log" \
        --metrics-backend "${gateway%/*}:${metrics_port}" "${node_args[@]}" \
        >"$state/apiserver.log" 2>&1 </dev/null &
    echo $! >"$state/apiserver.pid"
    setsid "$program" controller-manager --state-dir "$state" --ingress-http-port "${LOCAL_CLUSTER_INGRESS_PORT:-0}" \
        --metrics-bind-address "${gateway%/*}:${metrics_port}" \
        --node-monitor-grace-period "${LOCAL_CLUSTER_NODE_MONITOR_GRACE_PERIOD:-40}" \
        --horizontal-pod-autoscaler-downscale-stabilization "${LOCAL_CLUSTER_HPA_DOWNSCALE_STABILIZATION:-300}" \
        >"$state/controller-manager.log" 2>&1 </dev/null &
    echo $! >"$state/controller-manager.pid"
    # Each node a slice of the bridge's /24 for its Pods (its spec.podCIDR): /25 for 2 nodes, /26 for
    # 3 or 4, /27 for up to 8; one node has the whole subnet.
    local bits=0 size prefix part root
    while (((1 << bits) < nodes)); do bits=$((bits + 1)); done
    size=$((256 >> bits))
    prefix=$((24 + bits))
    local zones=$((nodes < 3 ? nodes : 3)) letters=(a b c)
    for ((i = 0; i < nodes; i++)); do
        local flags=(--node-name "$(node_name "$i")" --root-dir "$(node_root "$i")" --zone "zone-${letters[i % zones]}")
        ((nodes > 1)) && flags+=(--pod-cidr "${gateway%.*}.$((i * size))/${prefix}")
        [[ -n "$cpu" ]] && flags+=(--node-cpu "$cpu")
        [[ -n "$memory" ]] && flags+=(--node-memory "$memory")
        part="$(node_part "$i")"
        mkdir -p "$(node_root "$i")"
        setsid "$program" kubelet --state-dir "$state" --image-store "$images" --bridge "$bridge" --gateway "$gateway" "${flags[@]}" \
            >"$state/$part.log" 2>&1 </dev/null &
        echo $! >"$state/$part.pid"
    done

    local deadline=$((SECONDS + 60))
    until cluster_ready; do
        for part in apiserver controller-manager $(for ((i = 0; i < nodes; i++)); do node_part "$i"; done); do
            if ! alive "$part"; then
                log "error: the $part exited; tail of $state/$part.log:"
                tail -n 20 "$state/$part.log" >&2 || true
                cmd_down 2>/dev/null
                exit 1
            fi
        done
        if ((SECONDS >= deadline)); then
            log "error: not ready within 60 s; see $state/apiserver.log, $state/controller-manager.log and $state/kubelet*.log"
            cmd_down 2>/dev/null
            exit 1
        fi
        sleep 0.1
    done
    log "up in $((SECONDS - start)) s ($((SECONDS - built)) s after the build), $nodes node(s); for kubectl and curl:"
    cmd_env | sed 's/^/    /' >&2
}

# Up: the API server and the controller manager run and are ready, and so is every node's kubelet.
cluster_ready() {
    alive apiserver && alive controller-manager && [[ -e "$state/controller-manager.ready" ]] || return 1
    local i
    for ((i = 0; i < $(node_count); i++)); do
        alive "$(node_part "$i")" && [[ -e "$(node_root "$i")/kubelet.ready" ]] || return 1
    done
}

cmd_status() {
    if cluster_ready; then
        # shellcheck disable=SC1091
        source "$state/ingress.env"
        local i kubelets="" containers=0 root
        for ((i = 0; i < $(node_count); i++)); do kubelets+="${kubelets:+, }$(node_name "$i") $(cat "$state/$(node_part "$i").pid")"; done
        for root in "$state/runc" "$state"/nodes/*/runc; do
            [[ -d "$root" ]] && containers=$((containers + $(runc --root "$root" list -q 2>/dev/null | wc -l)))
        done
        echo "up: apiserver pid $(cat "$state/apiserver.pid"), controller-manager pid $(cat "$state/controller-manager.pid"), kubelets: ${kubelets}; $(ip netns list | grep -c '^lc-' || true) Pod namespaces, $containers containers, Ingress http://127.0.0.1:${INGRESS_HTTP_PORT}"
    else
        echo "down"
        return 3
    fi
}

cmd_env() {
    [[ -e "$state/controller-manager.ready" ]] || { echo "local-cluster: not up (hack/local-cluster.sh up)" >&2; exit 1; }
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
    up) shift; cmd_up "$@" ;;
    load) shift; cmd_load "$@" ;;
    images) [[ -x "$program" ]] || { log "error: $program is missing"; exit 1; }; "$program" images list --store "$images" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h|--help|help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
