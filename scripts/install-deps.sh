#!/usr/bin/env bash
# Installs what berth needs to build, run and be tested on Debian 12 (as root).
# Idempotent; used by the README's setup command and by CI.
#
# It only adds packages: apt is never allowed to remove, downgrade or replace a package
# the machine already has (`--no-remove`, no `--allow-downgrades`). A machine may ship
# newer packages than Debian 12's own (e.g. a backported qemu-utils 10 that Breaks
# Debian 12's qemu-system-common); what would conflict with them is not installed here:
# the VM lane unpacks its own qemu into its own directory (tests/vm/setup-vm.sh), and any
# other conflict stops this script with the names of both packages, before anything
# is changed.
set -euo pipefail

packages=(
    # build: seccomp for the runtime, clang/libbpf for the eBPF programs
    build-essential pkg-config libseccomp-dev clang-19 llvm-19 libbpf-dev bpftool libelf-dev zlib1g-dev
    # test fixtures and the tools tests drive
    busybox-static iproute2 nftables procps jq python3 python3-venv
    # zstd: the engine's image tests load a zstd-compressed archive
    zstd
    # protoc, for the CRI client the Kubernetes-node test builds (k8s-cri)
    protobuf-compiler
    # peers compared with and tested against
    runc crun containerd containernetworking-plugins podman prometheus hyperfine time
    # dockerd 20.10 with its CLI, for the dockerd lane (tests/clients/dockerd.sh)
    docker.io
    # the engine's image fixtures and the registry tests: skopeo and umoci make images
    # from the busybox rootfs, docker-registry (distribution 2.8) serves them on 127.0.0.1,
    # apache2-utils for htpasswd
    skopeo umoci docker-registry apache2-utils
    # the pure cgroup v2 VM lane (qemu itself: tests/vm/setup-vm.sh) and the vagrant check
    cpio kmod vagrant vagrant-libvirt
)

apt_opts=(-q -o DPkg::Lock::Timeout=600 --no-install-recommends --no-remove)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt-get update -q -o DPkg::Lock::Timeout=600
    # Dry run first: a conflict with a package the machine came with is reported with
    # apt's reason and nothing is installed.
    if ! sim=$(apt-get install -s "${apt_opts[@]}" "${missing[@]}" 2>&1); then
        echo "install-deps: apt refuses to add these packages without changing what this machine already has:" >&2
        grep -E 'Breaks|Conflicts|Depends|^E:' <<<"$sim" >&2 || echo "$sim" >&2
        echo "install-deps: nothing was installed; resolve the conflict above (berth never removes or downgrades host packages)" >&2
        exit 1
    fi
    # No package may start its service (docker.io and containerd would): tests start
    # private daemons of their own. Without systemd, invoke-rc.d runs the package's
    # init script unless /usr/sbin/policy-rc.d says no; where the machine has none, one
    # that denies every start is in place for the install and removed after it.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# berth install-deps: no service starts during the install\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_opts[@]}" "${missing[@]}"
fi

# deploy/'s Kubernetes manifests are checked against the Kubernetes OpenAPI schemas
# offline (kubectl needs a server for them): kubernetes-validate ships the schemas. A venv
# of its own, so nothing of the system's Python changes.
kv_venv=/opt/berth-ci/venv
kv_version=1.37.0
if ! "$kv_venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$kv_version"; then
    echo "install-deps: installing kubernetes-validate $kv_version in $kv_venv"
    python3 -m venv "$kv_venv"
    "$kv_venv/bin/pip" install -q "kubernetes-validate==$kv_version"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    # Debian 12's cargo is too old for edition 2024: use rustup's stable toolchain.
    echo "install-deps: installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
