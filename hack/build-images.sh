#!/usr/bin/env bash
# Builds the project's container images from their Dockerfiles, exactly as written, without Docker:
#
#   userapi            userapi:latest                  Dockerfile.api
#   userapi-operator   userapi-operator:latest         Dockerfile.operator
#   mysql-k8s          datascientest/mysql-k8s:1.0.0   hack/local-cluster/mysql/Dockerfile
#
# Usage: hack/build-images.sh [OPTION...] [IMAGE...]     (no IMAGE: all three)
#   -q, --quiet        print only the archives' paths, one a line (errors still go to stderr)
#   -v, --verbose      also show the builders' output (always in .local/images/logs/)
#   --rebuild-bases    rebuild the stand-in base images even when the store has them
#   -h, --help         this text
#
# With buildah (Debian's package, installed when missing): `buildah bud --pull=never --isolation
# chroot --layers` into the local image store (.local/containers, overlay driver, else vfs), on
# local stand-ins of the FROM images, which no registry here can serve (hack/images/bases.sh, built
# once and kept). When a Docker engine answers (`docker info`), `docker build` and `docker save`
# instead, with the real base images.
#
# Each image is also written as an OCI archive, .local/images/<IMAGE>.tar (oci-layout, index.json,
# blobs/sha256/..., and Docker's manifest.json), that `kind load image-archive`, `minikube image
# load`, `ctr images import` and `docker load` accept: index.json's one manifest descriptor carries
# the image's full name in io.containerd.image.name (docker.io/library/userapi:latest) and its tag in
# org.opencontainers.image.ref.name, as containerd's own exporter writes them. .local/images/
# images.json lists, per image, its name, archive, manifest and config digests.
#
# Environment: IMAGES_STORE (the store's directory), IMAGES_OUT (the archives' directory).
set -euo pipefail

# shellcheck source=hack/images/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/images/lib.sh"
# shellcheck source=hack/images/bases.sh
source "${IMAGES_REPO}/hack/images/bases.sh"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

# The images: key -> "name|Dockerfile|archive".
declare -A IMAGES=(
    [userapi]="userapi:latest|Dockerfile.api|userapi.tar"
    [userapi-operator]="userapi-operator:latest|Dockerfile.operator|userapi-operator.tar"
    [mysql-k8s]="datascientest/mysql-k8s:1.0.0|hack/local-cluster/mysql/Dockerfile|mysql-k8s.tar"
)
ORDER=(userapi userapi-operator mysql-k8s)

rebuild_bases=0
selected=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -q | --quiet) IMAGES_QUIET=1 ;;
        -v | --verbose) IMAGES_VERBOSE=1 ;;
        --rebuild-bases) rebuild_bases=1 ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option: $1 (see hack/build-images.sh --help)" ;;
        *)
            [[ -n "${IMAGES[$1]:-}" ]] || die "unknown image: $1 (one of: ${ORDER[*]})"
            selected+=("$1")
            ;;
    esac
    shift
done
[[ ${#selected[@]} -gt 0 ]] || selected=("${ORDER[@]}")
export IMAGES_QUIET IMAGES_VERBOSE

IMAGES_LOGS="${IMAGES_OUT}/logs"
IMAGES_LOG="${IMAGES_LOGS}/build.log"
mkdir -p "$IMAGES_OUT" "$IMAGES_LOGS"
# One build at a time per output directory (a test fixture and a person may start one together).
exec 8>"${IMAGES_OUT}/.lock"
if ! flock --nonblock 8; then
    say "==> waiting for the other hack/build-images.sh (lock ${IMAGES_OUT}/.lock)"
    flock 8
fi
: >"$IMAGES_LOG"
total_start="$(now)"

# base_of DOCKERFILE: the image of the Dockerfile's last FROM (its runtime stage).
base_of() {
    awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { base = $i; break } } END { print base }' "${IMAGES_REPO}/$1"
}

# build_buildah KEY: buildah bud of one image into the store.
#
# The .NET builds mount this machine's NuGet package cache ($NUGET_PACKAGES, else ~/.nuget/packages)
# at the build container's /root/.nuget/packages, so `dotnet restore` takes every package the machine already
# has from there and downloads only what it lacks (through the CA certificates and NuGet settings
# of the sdk stand-in, which also make a restore without the mount work). Measured here, restore of
# src/Operator in the sdk stand-in: 1.9 s from the package registry, 0.6 s from the mounted cache
# (the whole RUN step 3.9 s and 2.2 s). The mount leaves nothing in the image (volumes are not
# committed), and --layers reuses the restore step until a project file changes.
#
# The image is tagged with its full name (docker.io/library/userapi:latest), as containerd and the
# kubelet name it, not buildah's default for a name without a registry (localhost/userapi:latest).
build_buildah() {
    local key="$1" name dockerfile archive base description
    IFS='|' read -r name dockerfile archive <<<"${IMAGES[$key]}"
    base="$(base_of "$dockerfile")"
    description="${name}, built on this machine from ${dockerfile} on the local stand-in base image ${base} (hack/images/bases.sh): for local clusters only, never push it."
    local volumes=() packages="${NUGET_PACKAGES:-${HOME:-/root}/.nuget/packages}"
    if [[ "$dockerfile" == Dockerfile.* ]]; then
        mkdir -p "$packages"
        volumes=(--volume "${packages}:/root/.nuget/packages")
    fi
    run_logged "buildah bud ${name}" bh bud --pull=never --isolation chroot --layers --format oci \
        --file "${IMAGES_REPO}/${dockerfile}" --tag "$(full_name "$name")" "${volumes[@]}" \
        --label "${STANDIN_KEY}=base" --label "org.opencontainers.image.description=${description}" \
        --annotation "${STANDIN_KEY}=base" --annotation "org.opencontainers.image.base.name=${base}" \
        --annotation "org.opencontainers.image.description=${description}" \
        "$IMAGES_REPO"
}

# export_archive KEY: writes .local/images/<archive> from the store, through an OCI layout directory.
export_archive() {
    local key="$1" name dockerfile archive full tag dir
    IFS='|' read -r name dockerfile archive <<<"${IMAGES[$key]}"
    full="$(full_name "$name")"
    tag="${full##*:}"
    # Unchanged since the archive was written (same image ID, which is its config's digest): keep it.
    local id
    id="sha256:$(bh inspect --type image --format '{{.FromImageID}}' "$full")"
    if [[ -f "${IMAGES_OUT}/${archive}" && -s "${IMAGES_OUT}/images.json" ]] \
        && jq -e --arg name "$full" --arg id "$id" --arg archive "$archive" \
            'any(.images[]; .name == $name and .configDigest == $id and .archive == $archive)' "${IMAGES_OUT}/images.json" >/dev/null; then
        return 0
    fi
    dir="$(mktemp -d "${IMAGES_OUT}/.export.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$dir'; trap - RETURN" RETURN
    run_logged "buildah push ${name}" bh push --format oci --quiet "$full" "oci:${dir}/layout:${full}"
    write_archive "${dir}/layout" "$full" "$tag" "${IMAGES_OUT}/${archive}"
}

# write_archive LAYOUT FULL-NAME TAG FILE: names the layout's one manifest as containerd's exporter
# does (core/images/archive/exporter.go: io.containerd.image.name = the full name,
# org.opencontainers.image.ref.name = ociReferenceName, the tag) with the platform of its config,
# adds Docker's manifest.json (for a `docker load` older than Docker 25, which reads only that), and
# tars it: regular files only, in a fixed order, oci-layout first.
write_archive() {
    local layout="$1" full="$2" tag="$3" file="$4" manifest config familiar
    manifest="$(jq -r '.manifests[0].digest' "${layout}/index.json")"
    config="$(jq -r '.config.digest' "${layout}/blobs/${manifest/://}")"
    familiar="${full#docker.io/}"
    familiar="${familiar#library/}"
    jq --arg full "$full" --arg tag "$tag" \
        --slurpfile cfg "${layout}/blobs/${config/://}" \
        '.manifests = [.manifests[0] | .annotations = {"io.containerd.image.name": $full, "org.opencontainers.image.ref.name": $tag}
            | .platform = {"architecture": $cfg[0].architecture, "os": $cfg[0].os}]' \
        "${layout}/index.json" >"${layout}/index.json.new"
    mv "${layout}/index.json.new" "${layout}/index.json"
    jq -c --arg tag "$familiar" --arg config "blobs/${config/://}" \
        '[{"Config": $config, "RepoTags": [$tag], "Layers": [.layers[].digest | "blobs/" + sub(":"; "/")]}]' \
        "${layout}/blobs/${manifest/://}" >"${layout}/manifest.json"
    tar --create --file "${file}.tmp" --directory "$layout" --owner=0 --group=0 --numeric-owner \
        --mtime=@0 --sort=name oci-layout index.json manifest.json blobs
    mv "${file}.tmp" "$file"
    record_catalog "$full" "$(basename "$file")" "$manifest" "$config"
}

# record_catalog FULL-NAME ARCHIVE MANIFEST-DIGEST CONFIG-DIGEST: updates .local/images/images.json.
# The two build branches may finish an archive at the same moment: the update holds a lock.
record_catalog() {
    local catalog="${IMAGES_OUT}/images.json"
    (
        flock 9
        [[ -s "$catalog" ]] || echo '{"images": []}' >"$catalog"
        jq --arg name "$1" --arg archive "$2" --arg manifest "$3" --arg config "$4" \
            '.images = ([.images[] | select(.name != $name)] + [{"name": $name, "archive": $archive, "manifestDigest": $manifest, "configDigest": $config}] | sort_by(.name))' \
            "$catalog" >"${catalog}.new"
        mv "${catalog}.new" "$catalog"
    ) 9>"${IMAGES_OUT}/.images.json.lock"
}

# build_docker KEY: docker build, then docker save (Docker 25 and later write an OCI layout with
# the same annotations, plus manifest.json).
build_docker() {
    local key="$1" name dockerfile archive
    IFS='|' read -r name dockerfile archive <<<"${IMAGES[$key]}"
    run_logged "docker build ${name}" docker build --file "${IMAGES_REPO}/${dockerfile}" --tag "$name" "$IMAGES_REPO"
    run_logged "docker save ${name}" docker save --output "${IMAGES_OUT}/${archive}" "$name"
}

# build_branch KEY...: builds the images one after the other, each one's archive written while the
# next one builds.
build_branch() {
    local key archiving=""
    for key; do
        timed "build ${IMAGES[$key]%%|*}" build_buildah "$key"
        [[ -z "$archiving" ]] || wait "$archiving"
        timed "archive ${IMAGES_OUT#"${IMAGES_REPO}/"}/${IMAGES[$key]##*|}" export_archive "$key" &
        archiving=$!
    done
    wait "$archiving"
}

need_packages jq tar
if docker info >/dev/null 2>&1; then
    say "==> Docker engine found: docker build"
    for key in "${selected[@]}"; do
        timed "build ${IMAGES[$key]%%|*}" build_docker "$key"
    done
else
    [[ "$(id -u)" == 0 ]] || die "building with buildah here needs root (chroot isolation, overlay mounts, mmdebstrap); run it as root, or where a Docker engine answers"
    need_packages buildah
    say "==> buildah $(buildah --version | awk '{ print $3 }'), store ${IMAGES_STORE} ($(store_driver))"
    rebuild=()
    [[ "$rebuild_bases" == 1 ]] && rebuild=(--rebuild)
    dotnet_keys=()
    for key in "${selected[@]}"; do
        [[ "$key" == mysql-k8s ]] || dotnet_keys+=("$key")
    done
    # Every image comes from debian:bookworm-slim (the sdk and aspnet stand-ins too). Then two
    # branches side by side, each with its own log: the database image (mostly apt and dpkg), and
    # the sdk and aspnet stand-ins then the .NET images one after the other (mostly the compiler;
    # two compilers at once on two cores were slower here, not faster).
    build_bases "${rebuild[@]}" debian
    pids=()
    if [[ " ${selected[*]} " == *" mysql-k8s "* ]]; then
        (
            IMAGES_LOG="${IMAGES_LOGS}/mysql-k8s.log"
            : >"$IMAGES_LOG"
            build_branch mysql-k8s
        ) &
        pids+=($!)
    fi
    if [[ ${#dotnet_keys[@]} -gt 0 ]]; then
        (
            IMAGES_LOG="${IMAGES_LOGS}/dotnet.log"
            : >"$IMAGES_LOG"
            build_bases "${rebuild[@]}" dotnet
            build_branch "${dotnet_keys[@]}"
        ) &
        pids+=($!)
    fi
    status=0
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    [[ "$status" == 0 ]] || exit 1
fi

say "$(printf '  %-58s %6s s' "total" "$(elapsed "$total_start")")"
for key in "${selected[@]}"; do
    if [[ "$IMAGES_QUIET" == 1 ]]; then
        echo "${IMAGES_OUT}/${IMAGES[$key]##*|}"
    else
        say "$(printf '  %-40s %s' "${IMAGES[$key]%%|*}" "${IMAGES_OUT}/${IMAGES[$key]##*|}")"
    fi
done
