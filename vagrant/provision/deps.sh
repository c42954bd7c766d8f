#!/bin/bash
# Build and test dependencies of berth (Debian/Ubuntu), and a check that the kernel gives
# what berth needs: pure cgroup v2 and BTF.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  build-essential pkg-config curl ca-certificates git rsync jq \
  clang llvm libbpf-dev libelf-dev zlib1g-dev libseccomp-dev \
  busybox-static iproute2 nftables iptables util-linux procps \
  qemu-system-x86 cpio kmod python3

fs=$(stat -fc %T /sys/fs/cgroup)
[ "$fs" = cgroup2fs ] || { echo "berth VM: /sys/fs/cgroup is $fs, not cgroup2 (pure v2 expected)" >&2; exit 1; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "berth VM: no /sys/kernel/btf/vmlinux (kernel without BTF)" >&2; exit 1; }
echo "berth VM: cgroup2 with controllers: $(cat /sys/fs/cgroup/cgroup.controllers); BTF present"
