#!/usr/bin/env bash
# Fresh Debian 12 machine -> berth built, installed to target/release, and a real
# container printing "hello world" from busybox. Run as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --workspace --bins
bash tests/fixtures.sh
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
# The fixture's config, pointed at its rootfs, running echo.
jq --arg root "$repo/.fixtures/busybox/rootfs" '.root.path = $root | .process.args = ["echo", "hello world"]' \
    .fixtures/busybox/config.json > "$bundle/config.json"
./target/release/berth-runtime --root /run/berth/runtime run --bundle "$bundle" "hello-$$"
