#!/usr/bin/env bash
# Installs what berth needs to build, run and be tested on Debian 12 (as root).
# Idempotent; used by the README's setup command and by CI.
set -euo pipefail

packages=(
    # build: seccomp for the runtime, clang/libbpf for the eBPF programs
    build-essential pkg-config libseccomp-dev clang-19 llvm-19 libbpf-dev bpftool libelf-dev zlib1g-dev
    # test fixtures and the tools tests drive
    busybox-static iproute2 nftables procps jq
    # peers compared with and tested against
    runc crun containerd containernetworking-plugins podman prometheus hyperfine
    # the pure cgroup v2 VM lane and the vagrant check
    qemu-system-x86 cpio kmod vagrant vagrant-libvirt
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    # Debian 12's cargo is too old for edition 2024: use rustup's stable toolchain.
    echo "install-deps: installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
