#!/usr/bin/env bash
# Fresh Debian 12 machine -> berth built and installed, and real containers printing
# "hello world" from busybox: once through berth-runtime (the runc contract) and once the
# way people type it, `berth run --rm busybox echo hello world` (the engine, with the
# busybox image loaded from the fixture archive into the default store). Run as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --workspace --bins
# The runtime as installed: static-pie, built for size (scripts/build-runtime.sh says why).
runtime_bin=$(bash scripts/build-runtime.sh)

# Install the binaries on a read-only bind mount: /proc/self/exe of the runtime then
# names a file no container can open for writing (CVE-2019-5736) and berth-runtime needs
# no per-call protection. The mount does not survive a reboot; without it the runtime
# protects itself by re-executing once per create from a private read-only view.
bindir=/usr/local/lib/berth/bin
if mountpoint -q "$bindir"; then umount "$bindir"; fi
mkdir -p "$bindir"
declare -A built=([berth-runtime]="$runtime_bin" [berth-cni]=target/release/berth-cni
    [berth-exporter]=target/release/berth-exporter [berth]=target/release/berth)
for b in berth-runtime berth-cni berth-exporter berth; do
    [ -x "${built[$b]}" ] || continue
    install -m 755 "${built[$b]}" "$bindir/$b"
    ln -sf "$bindir/$b" "/usr/local/bin/$b"
done
mount --bind -o ro "$bindir" "$bindir"

bash tests/fixtures.sh
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
# The fixture's config, pointed at its rootfs, running echo.
jq --arg root "$repo/.fixtures/busybox/rootfs" '.root.path = $root | .process.args = ["echo", "hello world"]' \
    .fixtures/busybox/config.json > "$bundle/config.json"
berth-runtime run --bundle "$bundle" "hello-$$"

# The engine: no registry is reachable here, so busybox comes from the fixture's
# docker-archive (`docker save`'s format, made with skopeo) into the default store
# (/var/lib/berth); the first run makes the default bridge network berth0.
berth load -q -i .fixtures/busybox/docker-archive.tar
berth run --rm busybox echo hello world
