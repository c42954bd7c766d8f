#!/bin/bash
# The pure cgroup v2 lane: builds berth-cgroups' real-cgroup tests on the host and runs
# them in a throwaway qemu VM whose /sys/fs/cgroup is pure cgroup v2 with every
# controller, so the v2 managers (memory, cpu, pids, cpuset, io, the eBPF device filter,
# freeze, stats) are tested on a real v2 kernel, not only the hybrid v1 path of the host.
#
#   tests/vm/run-cgroup-tests.sh [extra test-binary args, e.g. a test name filter]
#
# The VM (Debian kernel + busybox initramfs) is built once into .fixtures/vm (git-ignored;
# BERTH_VM_DIR overrides). Guest code runs 7-35x slower under TCG: only the cgroup tests
# run here. Needs root (apt for the first setup, cgroups in the guest).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VM_DIR=${BERTH_VM_DIR:-$ROOT/.fixtures/vm}
HERE=$ROOT/tests/vm

# Rebuilt when setup-vm.sh changes (its hash is stamped next to the artifacts).
STAMP=$(sha256sum "$HERE/setup-vm.sh" | cut -c1-16)
if [ ! -s "$VM_DIR/vmlinux" ] || [ ! -s "$VM_DIR/initramfs.cpio.gz" ] \
   || [ "$(cat "$VM_DIR/setup.stamp" 2>/dev/null)" != "$STAMP" ]; then
  echo "vm lane: building the VM into $VM_DIR" >&2
  bash "$HERE/setup-vm.sh" "$VM_DIR" >&2
  echo "$STAMP" > "$VM_DIR/setup.stamp"
fi

cd "$ROOT"
# One test binary (tests/cgroups/): one VM boot. The build happens on the host.
mapfile -t BINS < <(cargo test -p berth-cgroups --test cgroups --no-run --message-format=json \
  | grep -o '"executable":"[^"]*"' | sed 's/"executable":"\(.*\)"/\1/')
[ "${#BINS[@]}" -gt 0 ] || { echo "vm lane: no test binary built" >&2; exit 1; }

rc=0
for bin in "${BINS[@]}"; do
  echo "vm lane: running $(basename "$bin") in a pure cgroup v2 VM" >&2
  start=$(date +%s)
  BERTH_EXPECT_LAYOUT=v2 RUST_BACKTRACE=${RUST_BACKTRACE:-1} VMRUN_PASSENV=BERTH_EXPECT_LAYOUT \
    VMRUN_DISK_MB=${VMRUN_DISK_MB:-32} VMRUN_DIR="$VM_DIR" VMRUN_TIMEOUT=${VMRUN_TIMEOUT:-900} \
    bash "$HERE/vmrun.sh" -r "$ROOT" -- /bin/sh -c '
      "$@"; rc=$?
      # Nothing else makes cgroups in this VM: whatever is left under berth/ leaked.
      left=$(find /sys/fs/cgroup/berth -mindepth 1 -type d 2>/dev/null)
      if [ -n "$left" ]; then echo "vm lane: cgroups left behind: $left" >&2; rc=1; fi
      exit $rc' sh "$bin" --test-threads="${BERTH_VM_TEST_THREADS:-2}" "$@" || rc=$?
  echo "vm lane: $(basename "$bin") exit $rc after $(( $(date +%s) - start )) s" >&2
done
exit $rc
