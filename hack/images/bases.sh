#!/usr/bin/env bash
# Local stand-ins for the base images that the Dockerfiles name in FROM and that cannot be pulled
# on this machine (no image registry is reachable), built under exactly those names into the local
# image store (hack/images/lib.sh) from Debian bookworm's packages and this machine's .NET:
#
#   debian:bookworm-slim                                  FROM of hack/local-cluster/mysql/Dockerfile
#   mcr.microsoft.com/dotnet/sdk:10.0                     build stage of Dockerfile.api and .operator
#   mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled   runtime stage of both
#
# Each keeps the contract that its real image's own Dockerfile defines (dotnet/dotnet-docker:
# src/runtime-deps/10.0/noble-chiseled, src/runtime/10.0/noble-chiseled, src/aspnet/10.0/
# noble-chiseled, src/runtime-deps/10.0/noble and src/sdk/10.0/noble; debuerreotype for Debian's
# slim images) and is marked as a stand-in: label and manifest annotation
# "userapi.example.com/stand-in: true", and org.opencontainers.image.description saying what it is.
#
# Usage: hack/images/bases.sh [--rebuild] [debian] [dotnet]
#   builds the stand-ins the store lacks (all of them with --rebuild); debian: debian:bookworm-slim
#   only; dotnet: the sdk and aspnet ones (and debian:bookworm-slim when missing)
# Usually run by hack/build-images.sh, which sources this file for its functions.
set -euo pipefail

# shellcheck source=hack/images/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

DEBIAN_BASE="debian:bookworm-slim"
SDK_BASE="mcr.microsoft.com/dotnet/sdk:10.0"
ASPNET_BASE="mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled"
APP_UID=1654

# The machine's .NET (the SDK for the sdk stand-in; its runtimes and host for the aspnet one).
DOTNET_SOURCE="${DOTNET_SOURCE:-$(dirname "$(readlink -f "$(command -v dotnet || echo /usr/share/dotnet/dotnet)")")}"

# config_marks CONTAINER NAME [WHAT]: marks a working container as the stand-in for NAME.
config_marks() {
    local ctr="$1" name="$2" what="${3:-}"
    local description="Local stand-in for ${name}, built on this machine from Debian bookworm packages${what:+ and ${what}}; not the published image, never push it."
    bh config --label "${STANDIN_KEY}=true" --annotation "${STANDIN_KEY}=true" \
        --label "org.opencontainers.image.description=${description}" \
        --annotation "org.opencontainers.image.description=${description}" "$ctr"
}

# dotnet_version KIND: the version directory of the machine's shared framework or SDK (the highest).
dotnet_version() {
    local dir
    case "$1" in
        runtime) dir="${DOTNET_SOURCE}/shared/Microsoft.NETCore.App" ;;
        aspnet) dir="${DOTNET_SOURCE}/shared/Microsoft.AspNetCore.App" ;;
        sdk) dir="${DOTNET_SOURCE}/sdk" ;;
    esac
    [[ -d "$dir" ]] || die "no .NET ${1} under ${DOTNET_SOURCE} (${dir} is missing); install the .NET 10 SDK or set DOTNET_SOURCE"
    find "$dir" -mindepth 1 -maxdepth 1 -type d -name '10.0.*' -printf '%f\n' | sort -V | tail -n 1
}

# bootstrap DIR: a Debian bookworm root filesystem in DIR (empty), as the Debian
# project's images are built (debuerreotype): a minbase bootstrap whose dpkg keeps out
# documentation, man pages and translations (scripts/.slimify-excludes and .slimify-includes), with
# the container settings of scripts/debuerreotype-minimizing-config (policy-rc.d that stops services
# from starting during package installs, dpkg's force-unsafe-io, apt's cache cleaned after each
# run, no translations, no autoremove of suggested packages). mmdebstrap writes straight into DIR,
# a working container's mount point (no tarball written and read back).
bootstrap() {
    need_packages mmdebstrap
    local dir="$1" p
    local args=(--variant=minbase --mode=root --format=directory --dpkgopt=force-unsafe-io)
    for p in /usr/share/doc/'*' /usr/share/info/'*' /usr/share/linda/'*' /usr/share/lintian/overrides/'*' \
        /usr/share/locale/'*' /usr/share/man/'*' /usr/share/doc/kde/HTML/'*'/'*' /usr/share/gnome/help/'*'/'*' \
        /usr/share/omf/'*'/'*'-'*'.emf; do
        args+=(--dpkgopt="path-exclude=${p}")
    done
    for p in /usr/share/doc/'*'/copyright /usr/share/doc/kde/HTML/C/'*' /usr/share/gnome/help/'*'/C/'*' \
        /usr/share/locale/all_languages /usr/share/locale/currency/'*' /usr/share/locale/l10n/'*' \
        /usr/share/locale/languages /usr/share/locale/locale.alias /usr/share/omf/'*'/'*'-C.emf; do
        args+=(--dpkgopt="path-include=${p}")
    done
    # shellcheck disable=SC2016 # the hooks' $1 is mmdebstrap's root directory
    run_logged "mmdebstrap bookworm" mmdebstrap "${args[@]}" \
        --customize-hook='printf "#!/bin/sh\nexit 101\n" >"$1/usr/sbin/policy-rc.d"; chmod 0755 "$1/usr/sbin/policy-rc.d"' \
        --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/docker-clean"' \
        --customize-hook='echo force-unsafe-io >"$1/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"' \
        --customize-hook='echo "Acquire::Languages \"none\";" >"$1/etc/apt/apt.conf.d/docker-no-languages"' \
        --customize-hook='printf "%s\n" "APT::AutoRemove::RecommendsImportant \"false\";" "APT::AutoRemove::SuggestsImportant \"false\";" >"$1/etc/apt/apt.conf.d/docker-autoremove-suggests"' \
        bookworm "$dir"
}

# build_debian: debian:bookworm-slim (see bootstrap), CMD ["bash"].
build_debian() {
    local ctr mnt
    ctr="$(bh from --pull=never scratch)"
    mnt="$(bh mount "$ctr")"
    bootstrap "$mnt"
    bh umount "$ctr" >/dev/null
    bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd '["bash"]' --os linux --arch amd64 "$ctr"
    config_marks "$ctr" "$DEBIAN_BASE"
    run_logged "commit ${DEBIAN_BASE}" bh commit --format oci --rm "$ctr" "$DEBIAN_BASE"
}

# build_sdk: the .NET SDK image (src/sdk/10.0/noble on src/aspnet, src/runtime and
# src/runtime-deps 10.0/noble): the runtime dependencies from Debian (ca-certificates, libc6,
# libgcc-s1, libicu72, libssl3, libstdc++6, tzdata; curl and libatomic1 of the sdk image; git and
# wget left out, nothing here needs them), the app user and group 1654 with a home directory, the
# machine's SDK in /usr/share/dotnet, dnx and dotnet linked into /usr/bin, and the images' ENV.
#
# A build container does not inherit this machine's setup, so the machine's own CA certificates
# (/usr/local/share/ca-certificates, gathered by update-ca-certificates), its NuGet settings
# (~/.nuget/NuGet/NuGet.Config) and its NUGET_* environment (not its paths) are added: `dotnet restore` inside a
# build then reaches the same package registry as on the machine. hack/build-images.sh also mounts
# the machine's package cache, so that a restore whose packages the machine already has downloads
# nothing (see there).
build_sdk() {
    local sdk runtime aspnet ctr mnt
    sdk="$(dotnet_version sdk)"
    runtime="$(dotnet_version runtime)"
    aspnet="$(dotnet_version aspnet)"
    ctr="$(bh from --pull=never "$DEBIAN_BASE")"
    run_logged "apt-get install the sdk's dependencies" bh run --isolation chroot "$ctr" -- sh -ec '
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            ca-certificates curl libatomic1 libc6 libgcc-s1 libicu72 libssl3 libstdc++6 tzdata
        rm -rf /var/lib/apt/lists/*'
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        run_logged "add this machine's CA certificates" bh copy "$ctr" /usr/local/share/ca-certificates/ /usr/local/share/ca-certificates/
        run_logged "update-ca-certificates" bh run --isolation chroot "$ctr" -- update-ca-certificates
    fi
    local nuget_config="${HOME:-/root}/.nuget/NuGet/NuGet.Config"
    if [[ -f "$nuget_config" ]]; then
        run_logged "add this machine's NuGet settings" bh copy "$ctr" "$nuget_config" /root/.nuget/NuGet/NuGet.Config
    fi
    run_logged "add the app user" bh run --isolation chroot "$ctr" -- sh -ec "
        groupadd --gid=${APP_UID} app
        useradd --no-log-init --uid=${APP_UID} --gid=${APP_UID} --create-home app"
    mnt="$(bh mount "$ctr")"
    mkdir -p "${mnt}/usr/share/dotnet"
    # The whole SDK installation: host, shared runtimes, packs, sdk, templates, manifests.
    run_logged "copy the .NET SDK ${sdk}" cp -a "${DOTNET_SOURCE}/." "${mnt}/usr/share/dotnet/"
    ln -sfn /usr/share/dotnet/dotnet "${mnt}/usr/bin/dotnet"
    [[ -e "${DOTNET_SOURCE}/dnx" ]] && ln -sfn /usr/share/dotnet/dnx "${mnt}/usr/bin/dnx"
    bh umount "$ctr" >/dev/null
    local env=(
        APP_UID="${APP_UID}" ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true
        DOTNET_VERSION="${runtime}" ASPNET_VERSION="${aspnet}"
        DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_NOLOGO=true DOTNET_SDK_VERSION="${sdk}"
        DOTNET_USE_POLLING_FILE_WATCHER=true NUGET_XMLDOC_MODE=skip
    )
    local name
    while IFS='=' read -r name _; do
        env+=("${name}=${!name}")
    done < <(env | grep -E '^NUGET_[A-Z_]+=' | grep -vE '^NUGET_(XMLDOC_MODE|PACKAGES|HTTP_CACHE_PATH|PLUGINS_CACHE_PATH|SCRATCH)=' || true)
    local args=() e
    for e in "${env[@]}"; do args+=(--env "$e"); done
    bh config "${args[@]}" "$ctr"
    # First-run experience, as the real image triggers it (`dotnet help`).
    run_logged "dotnet help (first run)" bh run --isolation chroot "$ctr" -- dotnet help
    config_marks "$ctr" "$SDK_BASE" "this machine's .NET SDK ${sdk}, CA certificates and NuGet settings"
    run_logged "commit ${SDK_BASE}" bh commit --format oci --rm "$ctr" "$SDK_BASE"
}

# build_aspnet: the chiseled ASP.NET Core runtime (src/runtime-deps, src/runtime and src/aspnet
# 10.0/noble-chiseled): no shell, no package manager, no dpkg database, only what chisel's slices
# base-files_base, base-files_release-info, ca-certificates_data, libc6_libs, libgcc-s1_libs,
# libssl3t64_libs and libstdc++6_libs hold, taken here from the same Debian packages of the sdk
# stand-in (libssl3 for libssl3t64): their shared libraries, the Mozilla CA bundle, os-release. Then
# /etc/passwd and /etc/group with root and app (1654), /home/app owned by 1654, the runtimes
# Microsoft.NETCore.App and Microsoft.AspNetCore.App with the dotnet host in /usr/share/dotnet,
# /usr/bin/dotnet, ENTRYPOINT ["/usr/bin/dotnet"], CMD ["--info"], USER 1654 and the images' ENV.
build_aspnet() {
    local runtime aspnet src ctr from mnt
    runtime="$(dotnet_version runtime)"
    aspnet="$(dotnet_version aspnet)"
    src="$(bh from --pull=never "$SDK_BASE")"
    from="$(bh mount "$src")"
    ctr="$(bh from --pull=never scratch)"
    mnt="$(bh mount "$ctr")"

    # base-files_base: the merged-/usr layout, /tmp, /var/tmp, /home, /root (700), os-release.
    mkdir -p "${mnt}"/{etc,home,proc,sys,dev,run,var/tmp,var/lib,usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64}
    install -d -m 0700 "${mnt}/root"
    install -d -m 1777 "${mnt}/tmp"
    chmod 1777 "${mnt}/var/tmp"
    ln -s usr/bin "${mnt}/bin"
    ln -s usr/sbin "${mnt}/sbin"
    ln -s usr/lib "${mnt}/lib"
    ln -s usr/lib64 "${mnt}/lib64"
    cp -a "${from}/usr/lib/os-release" "${mnt}/usr/lib/os-release"
    ln -s ../usr/lib/os-release "${mnt}/etc/os-release"
    cp -a "${from}/etc/debian_version" "${mnt}/etc/debian_version"

    # *_libs slices: the shared objects of these packages (dpkg's own file lists), nothing else.
    local pkg path list
    for pkg in libc6 libgcc-s1 libstdc++6 libssl3; do
        list="${from}/var/lib/dpkg/info/${pkg}:amd64.list"
        [[ -f "$list" ]] || die "the sdk stand-in has no dpkg file list of ${pkg} (${list})"
        while IFS= read -r path; do
            # dpkg lists paths as unpacked (/lib/...); merged /usr puts them under /usr/lib.
            [[ "$path" == /lib/* || "$path" == /lib64/* ]] && path="/usr${path}"
            case "$path" in
                */gconv/*) continue ;;
                /usr/lib/*.so | /usr/lib/*.so.* | /usr/lib64/*.so.*) ;;
                /usr/lib/x86_64-linux-gnu/engines-3/* | /usr/lib/x86_64-linux-gnu/ossl-modules/*) ;;
                *) continue ;;
            esac
            [[ -f "${from}${path}" || -L "${from}${path}" ]] || continue
            mkdir -p "${mnt}$(dirname "$path")"
            cp -a "${from}${path}" "${mnt}${path}"
        done <"$list"
    done

    # ca-certificates_data: the Mozilla bundle only (as chisel's slice concatenates it), not this
    # machine's own CA certificates, which the published image does not have either.
    mkdir -p "${mnt}/etc/ssl/certs" "${mnt}/usr/share/ca-certificates"
    cp -a "${from}/usr/share/ca-certificates/mozilla" "${mnt}/usr/share/ca-certificates/"
    cat "${mnt}"/usr/share/ca-certificates/mozilla/*.crt >"${mnt}/etc/ssl/certs/ca-certificates.crt"

    # The non-root user (runtime-deps: groupadd/useradd app, then only root and app are kept).
    printf 'root:x:0:0:root:/root:/bin/bash\napp:x:%s:%s::/home/app:/bin/false\n' "$APP_UID" "$APP_UID" >"${mnt}/etc/passwd"
    printf 'root:x:0:\napp:x:%s:\n' "$APP_UID" >"${mnt}/etc/group"
    install -d -m 0755 -o "$APP_UID" -g "$APP_UID" "${mnt}/home/app"

    # runtime + aspnet: the host, the two shared frameworks, /usr/bin/dotnet.
    mkdir -p "${mnt}/usr/share/dotnet/shared"
    cp -a "${DOTNET_SOURCE}/dotnet" "${DOTNET_SOURCE}/host" "${DOTNET_SOURCE}/LICENSE.txt" \
        "${DOTNET_SOURCE}/ThirdPartyNotices.txt" "${mnt}/usr/share/dotnet/"
    mkdir -p "${mnt}/usr/share/dotnet/shared/Microsoft.NETCore.App" "${mnt}/usr/share/dotnet/shared/Microsoft.AspNetCore.App"
    cp -a "${DOTNET_SOURCE}/shared/Microsoft.NETCore.App/${runtime}" "${mnt}/usr/share/dotnet/shared/Microsoft.NETCore.App/"
    cp -a "${DOTNET_SOURCE}/shared/Microsoft.AspNetCore.App/${aspnet}" "${mnt}/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
    ln -s /usr/share/dotnet/dotnet "${mnt}/usr/bin/dotnet"

    bh umount "$ctr" >/dev/null
    bh umount "$src" >/dev/null
    bh rm "$src" >/dev/null
    bh config --os linux --arch amd64 \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env APP_UID="${APP_UID}" --env ASPNETCORE_HTTP_PORTS=8080 \
        --env DOTNET_RUNNING_IN_CONTAINER=true --env DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true \
        --env DOTNET_VERSION="${runtime}" --env ASPNET_VERSION="${aspnet}" \
        --entrypoint '["/usr/bin/dotnet"]' --cmd '["--info"]' --user "$APP_UID" "$ctr"
    config_marks "$ctr" "$ASPNET_BASE" "this machine's .NET runtime ${runtime} and ASP.NET Core runtime ${aspnet}"
    run_logged "commit ${ASPNET_BASE}" bh commit --format oci --rm "$ctr" "$ASPNET_BASE"
}

# build_bases [--rebuild] [debian] [dotnet]: builds the stand-ins that the store lacks (every one
# with --rebuild): debian:bookworm-slim, and/or the sdk and aspnet ones, which come from it (and are
# rebuilt whenever it is). Default: all.
DEBIAN_BUILT=0
build_bases() {
    local rebuild=0 want_debian=0 want_dotnet=0 arg
    for arg; do
        case "$arg" in
            --rebuild) rebuild=1 ;;
            debian) want_debian=1 ;;
            dotnet) want_dotnet=1 ;;
            *) die "build_bases: unknown argument ${arg}" ;;
        esac
    done
    [[ "$want_debian" == 1 || "$want_dotnet" == 1 ]] || { want_debian=1; want_dotnet=1; }
    need_packages buildah
    if [[ "$want_debian" == 1 || "$want_dotnet" == 1 ]] \
        && { [[ "$rebuild" == 1 && "$DEBIAN_BUILT" == 0 ]] || ! image_exists "$DEBIAN_BASE"; }; then
        timed "stand-in ${DEBIAN_BASE}" build_debian
        DEBIAN_BUILT=1
    fi
    if [[ "$want_dotnet" == 1 ]]; then
        local built=0
        if [[ "$rebuild" == 1 || "$DEBIAN_BUILT" == 1 ]] || ! image_exists "$SDK_BASE"; then
            timed "stand-in ${SDK_BASE}" build_sdk
            built=1
        fi
        if [[ "$rebuild" == 1 || "$built" == 1 ]] || ! image_exists "$ASPNET_BASE"; then
            timed "stand-in ${ASPNET_BASE}" build_aspnet
        fi
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    case "${1:-}" in
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) build_bases "$@" ;;
    esac
fi
