#!/usr/bin/env bash
# The whole test suite, as root: fixtures, every crate's unit and integration tests
# (real containers, real network namespaces, real BPF), the dockerd lane (tests/clients),
# the pure cgroup v2 VM lane, and the Vagrantfile check.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# Idempotent: on a fresh machine this installs the packages the tests drive.
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

bash tests/fixtures.sh
# The end-to-end tests run the workspace's binaries from the same target dir.
cargo build --workspace --bins
cargo test --workspace --no-fail-fast

echo "== dockerd lane: berth and runc side by side under dockerd 20.10"
bash tests/clients/dockerd.sh

echo "== pure cgroup v2 lane (qemu VM)"
bash tests/vm/run-cgroup-tests.sh

if command -v vagrant >/dev/null 2>&1; then
    echo "== vagrant validate"
    (cd vagrant && vagrant validate)
fi
