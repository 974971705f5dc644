#!/usr/bin/env bash
# Runs every test of the repository.
#
# The UserApi tests need MariaDB's programs (mariadb-install-db, mariadbd): they start a private
# instance of their own on a free loopback port, so this script only makes sure the programs are
# installed (from Debian's packages, when absent). The manifest tests need kubectl, installed the
# same way when absent. The end-to-end tests (tests/EndToEnd) bring up the local cluster
# (hack/local-cluster.sh, which installs nginx and iproute2 when absent) and need root.
# Extra arguments go to every `dotnet test`, e.g.
#   hack/test.sh --filter "FullyQualifiedName~Render"
set -euo pipefail
cd "$(dirname "$0")/.."

hack/mariadb.sh install

# The manifest tests render config/default with `kubectl kustomize` (offline).
if ! command -v kubectl >/dev/null 2>&1; then
    echo "[test.sh] installing kubectl"
    as_root() { if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
        || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet build UserApiOperator.sln -nologo -v q 2>&1 | tee "$log" || exit 1

# The container images, from the Dockerfiles as written (buildah on local stand-ins of their base
# images; minutes on a fresh machine, seconds when nothing changed): the image tests read them and
# the end-to-end tests run them. Root only, as the end-to-end tests.
if [[ "$(id -u)" -eq 0 ]]; then
    hack/build-images.sh --quiet >/dev/null || { echo "[test.sh] hack/build-images.sh failed (logs in .local/images/logs)"; exit 1; }
else
    echo "[test.sh] not root: the images are not built (the image and end-to-end tests need root)"
fi

# One project at a time: the end-to-end tests run real Pods (MariaDB, the UserApi, nginx) on the
# same 2 cores as everything else, so they go last and alone; they print their time budgets.
for project in tests/UserApi.Tests tests/KubeApiFake.Tests tests/LocalCluster.Tests tests/Deploy.Tests tests/Operator.Tests; do
    dotnet test "$project" --no-build "$@" 2>&1 | tee -a "$log" || status=$?
done
dotnet test tests/EndToEnd --no-build --logger "console;verbosity=normal" "$@" 2>&1 | tee -a "$log" || status=$?

# One closing line over all test projects: "tests: N passed, N failed, N skipped".
# (The minimal logger prints "Passed!  - Failed: 0, Passed: 154, ..."; the normal one, used for the
# end-to-end tests, a block "Total tests: 11 / Passed: 11 / Failed: ...".)
awk '/^Total tests:/ { block = 1 }
     block && $1 == "Passed:" { p += $2 }
     block && $1 == "Failed:" { f += $2 }
     block && $1 == "Skipped:" { s += $2 }
     /^ *Total time:/ { block = 0 }
     /^(Passed|Failed)!/ {
        for (i = 1; i < NF; i++) {
            n = $(i + 1)
            sub(",", "", n)
            if ($i == "Failed:") f += n
            if ($i == "Passed:") p += n
            if ($i == "Skipped:") s += n
        }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
# The failed tests again, last, so that the end of a long log says which ones they were and why:
# both loggers print "  Failed <name> [<time>]", then "  Error Message:" and the message's lines.
awk '/^ +Failed [^ ]/ { name = $0; sub(/^ +Failed /, "", name); if (!shown++) print "failed tests:"; print "  " name; want = 0; next }
     /^ +Error Message:/ { want = 1; next }
     want { line = $0; sub(/^ +/, "", line); print "    " substr(line, 1, 400); want = 0 }' "$log"
exit "$status"
