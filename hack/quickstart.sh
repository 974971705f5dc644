#!/usr/bin/env bash
# Quick start: the main job end to end on this machine. Brings up the local cluster
# (hack/local-cluster.sh: an API server, a process kubelet, nginx as the Ingress controller), installs
# the CRD, starts the operator from source, applies config/samples/userapi.yaml, waits for Ready, and
# shows what a user sees: kubectl get userapis, the operator's reconcile log lines, kubectl get pods,
# and curl through the Ingress of /status, /users and /users/1.
#
#   hack/quickstart.sh                         run it all, show the results, then stop everything
#   hack/quickstart.sh --serve                 same, then keep it all up until Ctrl-C
#   hack/quickstart.sh --service-only          no cluster: the UserApi service alone on loopback,
#                                              with a private MariaDB (hack/mariadb.sh)
#   hack/quickstart.sh --service-only --serve  same, kept up until Ctrl-C
#
# Needs root for the cluster (network namespaces). Logs: .local/cluster/{apiserver,kubelet,operator}.log
# and, for --service-only, .local/userapi.log.
set -euo pipefail
cd "$(dirname "$0")/.."

serve=false
service_only=false
for arg in "$@"; do
    case "$arg" in
        --serve) serve=true ;;
        --service-only) service_only=true ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
step "Build (src/Operator, src/UserApi, tests/LocalCluster)"
for project in src/Operator src/UserApi tests/LocalCluster; do
    # Its output only when it fails.
    if ! out=$(dotnet build "$project" --nologo -v quiet -clp:"NoSummary;ErrorsOnly" 2>&1); then
        echo "$out" >&2
        exit 1
    fi
done
echo "built in $SECONDS s"
built=$SECONDS

step "Local cluster (hack/local-cluster.sh up)"
LOCAL_CLUSTER_NO_BUILD=1 hack/local-cluster.sh up
eval "$(hack/local-cluster.sh env)"
log=.local/cluster/operator.log

operator=""
cleanup() {
    if [[ -n "$operator" ]]; then kill "$operator" 2>/dev/null || true; wait "$operator" 2>/dev/null || true; fi
    hack/local-cluster.sh down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "kubectl apply -f config/crd/userapi.example.com_userapis.yaml"
kubectl apply -f config/crd/userapi.example.com_userapis.yaml

step "Operator from source (dotnet run --project src/Operator -- --kubeconfig \$KUBECONFIG; log: $log)"
# Its health and metrics endpoints on loopback only, like everything of the local cluster.
dotnet run --no-build --project src/Operator -- --kubeconfig "$KUBECONFIG" \
    --health-probe-bind-address 127.0.0.1:8081 --metrics-bind-address 127.0.0.1:8080 >"$log" 2>&1 &
operator=$!

step "kubectl apply -f config/samples/userapi.yaml"
applied=$SECONDS
for attempt in 1 2 3 4 5; do
    # The first apply can race the API server's discovery of the new CRD.
    kubectl apply -f config/samples/userapi.yaml && break
    [[ $attempt == 5 ]] && exit 1
    sleep 1
done

step "Waiting for Ready"
until [[ "$(kubectl get userapi userapi-sample -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; do
    kill -0 "$operator" 2>/dev/null || { tail -n 30 "$log" >&2; echo "quickstart: the operator exited" >&2; exit 1; }
    if ((SECONDS - applied > 120)); then
        echo "quickstart: not Ready within 120 s; see $log and .local/cluster/kubelet.log" >&2
        kubectl get pods >&2 || true
        exit 1
    fi
    sleep 0.5
done
echo "Ready $((SECONDS - applied)) s after kubectl apply ($((SECONDS - built)) s after the build, $((SECONDS - started)) s in all)"

step "kubectl get userapis"
kubectl get userapis
step "The operator's reconcile log lines ($log)"
grep -i "reconcil" "$log" | tail -n 8 || true
step "kubectl get pods -o wide"
kubectl get pods -o wide
step "curl \$INGRESS_URL/status    (INGRESS_URL=$INGRESS_URL)"
curl -sS "$INGRESS_URL/status"; echo
step "curl \$INGRESS_URL/users"
curl -sS "$INGRESS_URL/users"; echo
step "curl \$INGRESS_URL/users/1"
curl -sS "$INGRESS_URL/users/1"; echo

if $serve; then
    step "Serving; Ctrl-C stops the operator and the cluster. In another shell:"
    cat <<EOT
    cd $PWD && eval "\$(hack/local-cluster.sh env)"
    kubectl get userapis,pods
    curl \$INGRESS_URL/users/1
    tail -f $log
EOT
    wait "$operator"
else
    printf '\nDone; stopping the operator and the cluster. To keep them up: hack/quickstart.sh --serve\n'
fi
