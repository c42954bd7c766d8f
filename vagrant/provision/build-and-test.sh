#!/bin/bash
# Builds berth and runs its tests as root, on the VM's pure cgroup v2 (the cgroup tests then
# exercise the v2 managers natively). Build output stays on the VM's disk.
set -euo pipefail
export RUSTUP_HOME=/home/vagrant/.rustup CARGO_HOME=/home/vagrant/.cargo
export CARGO_TARGET_DIR=/var/tmp/berth-target PATH=/home/vagrant/.cargo/bin:$PATH
cd /berth
cargo build --workspace --all-targets
if [ "${BERTH_VAGRANT_TESTS:-1}" = 1 ]; then
  cargo test --workspace
else
  echo "berth VM: tests skipped (BERTH_VAGRANT_TESTS=0); run: cd /berth && sudo -E cargo test --workspace"
fi
