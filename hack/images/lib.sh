# shellcheck shell=bash
# Shared functions of hack/build-images.sh, hack/images/bases.sh and hack/images/smoke-test.sh.
# Source it; it defines no behaviour of its own.
#
# The local image store is buildah's containers/storage under ${IMAGES_STORE} (default
# .local/containers of the checkout, so that two checkouts on one machine never overwrite each
# other's userapi:latest), with the overlay driver where the kernel mounts it and vfs otherwise;
# the driver chosen first is recorded in ${IMAGES_STORE}/driver and kept (a store cannot change
# driver). OCI archives of the built images go to ${IMAGES_OUT} (default .local/images).

IMAGES_REPO="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGES_STORE="${IMAGES_STORE:-${IMAGES_REPO}/.local/containers}"
IMAGES_OUT="${IMAGES_OUT:-${IMAGES_REPO}/.local/images}"
IMAGES_QUIET="${IMAGES_QUIET:-0}"
IMAGES_LOG="${IMAGES_LOG:-${IMAGES_OUT}/build.log}"

# Labels and annotations that mark what was built here. A stand-in (a base image built from Debian's
# packages under the name of an image that cannot be pulled here) carries STANDIN_KEY=true; an image
# built on top of one carries STANDIN_KEY=base. Both say so in org.opencontainers.image.description.
# shellcheck disable=SC2034 # used by the scripts that source this file
STANDIN_KEY="userapi.example.com/stand-in"

# say MESSAGE...: a progress line on stderr (nothing in quiet mode).
say() {
    [[ "$IMAGES_QUIET" == 1 ]] || printf '%s\n' "$*" >&2
}

# die MESSAGE...: an error line on stderr, exit 1.
die() {
    printf 'build-images: error: %s\n' "$*" >&2
    exit 1
}

# now: seconds since the epoch with milliseconds (for step times).
now() {
    date +%s.%3N
}

# elapsed START: seconds since START, one decimal.
elapsed() {
    awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'
}

# run_logged DESCRIPTION COMMAND...: runs a command with its output appended to ${IMAGES_LOG} (and
# also shown, indented, with IMAGES_VERBOSE=1); on failure prints the log's last lines and exits 1.
run_logged() {
    local what="$1"
    shift
    mkdir -p "$(dirname "$IMAGES_LOG")"
    printf '\n==> %s: %s\n' "$what" "$*" >>"$IMAGES_LOG"
    local rc=0
    if [[ "${IMAGES_VERBOSE:-0}" == 1 ]]; then
        { "$@" 2>&1; } | tee -a "$IMAGES_LOG" | sed -u 's/^/    /' >&2 || rc=$?
    else
        "$@" >>"$IMAGES_LOG" 2>&1 || rc=$?
    fi
    if [[ "$rc" != 0 ]]; then
        printf 'build-images: error: %s failed (exit %s); last lines of %s:\n' "$what" "$rc" "$IMAGES_LOG" >&2
        tail -n 30 "$IMAGES_LOG" | sed 's/^/    /' >&2
        exit 1
    fi
}

# timed LABEL COMMAND...: runs a command and prints "LABEL: N.N s" (not in quiet mode).
timed() {
    local label="$1" start
    shift
    start="$(now)"
    "$@"
    say "$(printf '  %-58s %6s s' "$label" "$(elapsed "$start")")"
}

# need_packages PACKAGE...: installs the Debian packages that are missing (as root, apt-get).
need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ "$(id -u)" == 0 ]] || die "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)"
    say "installing ${missing[*]} (apt-get)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$IMAGES_LOG" 2>&1; then
        apt-get update -q >>"$IMAGES_LOG" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$IMAGES_LOG" 2>&1 \
            || die "apt-get install ${missing[*]} failed; see ${IMAGES_LOG}"
    fi
}

# store_driver: prints the storage driver of the local store, choosing it on first use: overlay when
# the kernel can mount an overlay filesystem on the store's file system, vfs otherwise.
store_driver() {
    local file="${IMAGES_STORE}/driver"
    if [[ -s "$file" ]]; then
        cat "$file"
        return
    fi
    mkdir -p "$IMAGES_STORE"
    local probe driver=vfs
    probe="$(mktemp -d "${IMAGES_STORE}/.overlay-probe.XXXXXX")"
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=${probe}/lower,upperdir=${probe}/upper,workdir=${probe}/work" "${probe}/merged" 2>/dev/null; then
        umount "${probe}/merged"
        driver=overlay
    fi
    rm -rf "$probe"
    echo "$driver" >"$file"
    echo "$driver"
}

# bh ARGS...: buildah on the local store. Without the build locks (fds 8 and 9 of
# hack/build-images.sh): with chroot isolation a RUN step's processes are not confined to a PID
# namespace, and `dotnet publish` leaves its compiler server (VBCSCompiler) running for about ten
# minutes after the step; holding the lock, it kept every other build waiting that long.
bh() {
    buildah --root "${IMAGES_STORE}/storage" --runroot "${IMAGES_STORE}/run" \
        --storage-driver "${IMAGES_DRIVER:=$(store_driver)}" "$@" 8>&- 9>&-
}

# image_exists NAME: whether the local store holds an image of that name.
image_exists() {
    bh inspect --type image "$1" >/dev/null 2>&1
}

# full_name NAME: the normalised reference of an image name, as containerd and the kubelet's CRI
# see it (distribution/reference ParseDockerRef: docker.io/ for a name without a registry,
# library/ for a single-component Docker Hub name, :latest when there is no tag).
full_name() {
    local name="$1" first rest
    [[ "$name" == *@* || "${name##*/}" == *:* ]] || name="${name}:latest"
    first="${name%%/*}"
    if [[ "$name" != */* ]]; then
        name="docker.io/library/${name}"
    elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then
        name="docker.io/${name}"
    fi
    echo "$name"
}
