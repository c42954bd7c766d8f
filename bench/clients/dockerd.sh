#!/usr/bin/env bash
# `docker run --rm --network none busybox true` through dockerd 20.10, with berth-runtime
# and with runc side by side in one hyperfine run, against one private dockerd (the
# dockerd lane's: tests/clients/dockerd-lib.sh). The figure is what a docker user waits
# for: the CLI, dockerd, containerd, the shim and the runtime, create to removal.
# Usage (root): bench/clients/dockerd.sh [hyperfine args, e.g. --runs 40]
# berth is the release build, on a read-only bind mount as scripts/setup.sh installs it
# (from a writable place it re-execs itself from a read-only view, about +1.4 ms).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -p berth-runtime --manifest-path "$repo/Cargo.toml" >&2
bash "$repo/tests/fixtures.sh" >&2
# shellcheck source=tests/clients/dockerd-lib.sh
. "$repo/tests/clients/dockerd-lib.sh"

trap dockerd_stop EXIT
dockerd_start "$repo/target/release/berth-runtime"
# In dockerd's own mount namespace, where the shims run the runtime; it ends with dockerd.
nsenter -t "$DOCKERD_PID" -m mount --bind -o ro "$DOCKERD_DIR/berth-runtime" "$DOCKERD_DIR/berth-runtime"

echo "== versions"
docker version --format 'dockerd {{.Server.Version}} (API {{.Server.APIVersion}}), docker CLI {{.Client.Version}}'
"$DOCKERD_DIR/berth-runtime" --version | head -1
runc --version | head -1
echo

cmds=()
for rt in berth runc; do
    cmds+=(-n "$rt" "docker run --rm --network none --runtime $rt $DOCKERD_IMAGE true")
done
echo "== docker run --rm --network none $DOCKERD_IMAGE true"
hyperfine -N --warmup 3 --export-json "$DOCKERD_DIR/run.json" "$@" "${cmds[@]}"

echo "== medians (ms) and ratio to berth"
jq -r '
  (.results | map({key: .command, value: .median}) | from_entries) as $m
  | .results[] | "\(.command)\t\(.median * 1000 | . * 10 | round / 10) ms\tx\((.median / $m.berth) * 100 | round / 100)"' \
    "$DOCKERD_DIR/run.json"

left=$(dockerd_leftovers)
if [ -n "$left" ]; then
    echo "bench: dockerd kept what removed containers should not leave: $left" >&2
    exit 1
fi
