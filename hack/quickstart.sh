#!/usr/bin/env bash
# Quick start: the main job end to end on this machine, as users run it on a cluster. Builds the
# images from Dockerfile.api and Dockerfile.operator (hack/build-images.sh), brings up the local
# cluster (hack/local-cluster.sh: an API server, a controller manager with the scheduler and nginx as
# the Ingress controller, a kubelet running every container with runc) and loads the images into its node, installs the operator with
# `kubectl apply -k config/default` (the manager Pod runs the operator image in-cluster, as its
# ServiceAccount), applies config/samples/userapi.yaml, waits for Ready, and shows what a user sees:
# the images, the manager Pod, its reconcile lines through `kubectl logs`, kubectl get userapis, the
# Pods, and curl through the Ingress of /status, /users and /users/1. It prints its budgets.
#
#   hack/quickstart.sh                         run it all, show the results, then stop everything
#   hack/quickstart.sh --serve                 same, then keep it all up until Ctrl-C
#   hack/quickstart.sh --service-only          no cluster: the UserApi service alone on loopback,
#                                              with a private MariaDB (hack/mariadb.sh)
#   hack/quickstart.sh --service-only --serve  same, kept up until Ctrl-C
#
# Needs root for the cluster (network namespaces, runc, buildah). Logs: .local/cluster/{apiserver,
# audit,controller-manager,kubelet}.log, .local/images/logs/ and, for --service-only, .local/userapi.log.
set -euo pipefail
cd "$(dirname "$0")/.."

serve=false
service_only=false
for arg in "$@"; do
    case "$arg" in
        --serve) serve=true ;;
        --service-only) service_only=true ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "quickstart: unknown argument '$arg' (use --serve, --service-only or --help)" >&2; exit 2 ;;
    esac
done

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
command -v curl >/dev/null || { echo "quickstart: curl is required (apt-get install curl)" >&2; exit 1; }

service_only_main() {
    local port="${USERAPI_PORT:-8000}"
    local base="http://127.0.0.1:${port}"
    if curl -s -o /dev/null "$base/status"; then
        echo "quickstart: something already answers on $base; set USERAPI_PORT to another port" >&2
        exit 1
    fi

    step "MariaDB on loopback (hack/mariadb.sh start && hack/mariadb.sh seed)"
    hack/mariadb.sh start
    hack/mariadb.sh seed
    eval "$(hack/mariadb.sh env)"

    step "Build"
    dotnet build src/UserApi --nologo -v quiet -clp:"NoSummary;ErrorsOnly"
    dotnet build src/Operator --nologo -v quiet -clp:"NoSummary;ErrorsOnly"

    local log=.local/userapi.log
    step "UserApi service on $base (log: $log)"
    mkdir -p .local
    dotnet run --no-build --project src/UserApi -- --urls "$base" >"$log" 2>&1 &
    local api=$!
    # shellcheck disable=SC2064
    trap "kill $api 2>/dev/null && wait $api 2>/dev/null" EXIT
    for _ in $(seq 1 60); do
        curl -s -o /dev/null "$base/status" && break
        kill -0 "$api" 2>/dev/null || { cat "$log" >&2; echo "quickstart: the UserApi service exited" >&2; exit 1; }
        sleep 0.5
    done
    curl -s -o /dev/null "$base/status" || { cat "$log" >&2; echo "quickstart: the UserApi service did not answer in 30 s" >&2; exit 1; }

    step "Objects the operator applies for config/samples/userapi.yaml (render)"
    dotnet run --no-build --project src/Operator -- render -f config/samples/userapi.yaml

    step "curl $base/status"
    curl -sS "$base/status"; echo
    step "curl $base/users"
    curl -sS "$base/users"; echo
    step "curl $base/users/1"
    curl -sS "$base/users/1"; echo

    if $serve; then
        step "Serving on $base (Swagger UI: $base/docs; log: $log); Ctrl-C to stop"
        wait "$api"
    else
        printf '\nDone (MariaDB keeps running: hack/mariadb.sh stop). Swagger UI: hack/quickstart.sh --service-only --serve, then open %s/docs\n' "$base"
    fi
}

if $service_only; then
    service_only_main
    exit 0
fi

started=$SECONDS
load() { cut -d' ' -f1-3 /proc/loadavg; }
# A fresh machine has no image store yet: the stand-in base images and the three images are built
# from nothing (minutes); a second run finds them and rebuilds nothing that did not change.
if [[ -d "${IMAGES_STORE:-.local/containers}" && -d "${LOCAL_CLUSTER_IMAGE_STORE:-.local/image-store}" ]]; then
    run=second budget=90
else
    run=fresh budget=360
fi
echo "quickstart: a ${run} run (budget to the first curl: ${budget} s); load average $(load)"

step "Images (hack/build-images.sh: Dockerfile.api, Dockerfile.operator, hack/local-cluster/mysql/Dockerfile)"
hack/build-images.sh
images_built=$SECONDS

step "Build tests/LocalCluster (the local cluster's API server and kubelet)"
# Its output only when it fails.
if ! out=$(dotnet build tests/LocalCluster --nologo -v quiet -clp:"NoSummary;ErrorsOnly" 2>&1); then
    echo "$out" >&2
    exit 1
fi
echo "built in $((SECONDS - images_built)) s"

step "Local cluster (hack/local-cluster.sh up; the images loaded into its node, as kind load does)"
cleanup() { hack/local-cluster.sh down; }
trap cleanup EXIT
trap 'exit 130' INT TERM
LOCAL_CLUSTER_NO_BUILD=1 hack/local-cluster.sh up
eval "$(hack/local-cluster.sh env)"

step "hack/local-cluster.sh images    (the node's images)"
hack/local-cluster.sh images
step "kubectl get nodes -o wide"
kubectl get nodes -o wide

manager=deployment/userapi-operator-controller-manager
step "kubectl apply -k config/default"
kubectl apply -k config/default
step "kubectl -n userapi-system rollout status $manager"
kubectl -n userapi-system rollout status "$manager" --timeout=180s
step "kubectl -n userapi-system get pods -o wide"
kubectl -n userapi-system get pods -o wide

step "kubectl apply -f config/samples/userapi.yaml"
applied=$SECONDS
for attempt in 1 2 3 4 5; do
    # The first apply can race the API server's discovery of the CRD just installed.
    kubectl apply -f config/samples/userapi.yaml && break
    [[ $attempt == 5 ]] && exit 1
    sleep 1
done

step "Waiting for Ready"
until [[ "$(kubectl get userapi userapi-sample -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; do
    if ((SECONDS - applied > 180)); then
        echo "quickstart: not Ready within 180 s; see .local/cluster/controller-manager.log, kubelet.log and:" >&2
        kubectl get pods -A >&2 || true
        kubectl -n userapi-system logs "$manager" --tail 30 >&2 || true
        exit 1
    fi
    sleep 0.5
done
ready=$((SECONDS - applied))

step "kubectl get userapis"
kubectl get userapis
step "The manager's reconcile lines: kubectl -n userapi-system logs $manager | grep Reconciled"
kubectl -n userapi-system logs "$manager" | grep Reconciled | tail -n 8 || true
step "kubectl get pods -o wide"
kubectl get pods -o wide
step "curl \$INGRESS_URL/status    (INGRESS_URL=$INGRESS_URL)"
curl -sS "$INGRESS_URL/status"; echo
first_curl=$((SECONDS - started))
step "curl \$INGRESS_URL/users"
curl -sS "$INGRESS_URL/users"; echo
step "curl \$INGRESS_URL/users/1"
curl -sS "$INGRESS_URL/users/1"; echo

step "Budgets"
verdict=$([[ $first_curl -le $budget ]] && echo "within" || echo "OVER")
printf '  %-46s %4d s\n' "images built (hack/build-images.sh)" "$((images_built - started))"
printf '  %-46s %4d s\n' "sample Ready after kubectl apply" "$ready"
printf '  %-46s %4d s   (%s budget %d s for a %s run: %s)\n' "first curl through the Ingress, from the start" "$first_curl" "$run" "$budget" "$run" "$verdict"
printf '  %-46s %s\n' "load average now (1, 5, 15 min)" "$(load)"
echo "  budgets: a fresh machine (no image store) 360 s to the first curl; a second run 90 s"

if $serve; then
    step "Serving; Ctrl-C stops the cluster. In another shell:"
    cat <<EOT
    cd $PWD && eval "\$(hack/local-cluster.sh env)"
    kubectl get userapis,pods
    kubectl -n userapi-system logs -f $manager
    kubectl exec deploy/userapi-sample -c api -- dotnet --info
    curl \$INGRESS_URL/users/1
EOT
    sleep infinity &
    wait $!
else
    printf '\nDone; stopping the cluster. To keep it up: hack/quickstart.sh --serve\n'
fi
