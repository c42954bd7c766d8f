#!/usr/bin/env bash
# `docker run --rm --network none IMAGE true` through `berth serve` (the Docker Engine API
# over berth's engine) against the same command through dockerd 20.10 (Debian's docker.io,
# its own data root, exec root and socket in a temp dir, --iptables=false --bridge=none:
# tests/clients/dockerd-lib.sh) and against `berth run --rm` directly, side by side in one
# hyperfine run. The same docker CLI (the first in PATH) is the client of both servers.
# The fixture image (tests/fixtures.sh) is loaded into each store first: nothing is pulled.
# Usage (root): bench/engine/serve.sh [hyperfine args, e.g. --runs 40]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -p berth-engine -p berth-runtime --manifest-path "$repo/Cargo.toml" >&2
bash "$repo/tests/fixtures.sh" >&2
# shellcheck source=tests/clients/dockerd-lib.sh
. "$repo/tests/clients/dockerd-lib.sh"

work=$(mktemp -d /var/tmp/berth-serve-bench.XXXXXX)
serve_pid=""
cleanup() {
    if [ -n "$serve_pid" ]; then
        DOCKER_HOST="unix://$work/berth.sock" docker rm -f $(DOCKER_HOST="unix://$work/berth.sock" docker ps -aq) >/dev/null 2>&1 || :
        kill -TERM "$serve_pid" 2>/dev/null || :
        wait "$serve_pid" 2>/dev/null || :
    fi
    # dockerd_stop talks to dockerd through DOCKER_HOST.
    if [ -n "${dockerd_host:-}" ]; then
        export DOCKER_HOST=$dockerd_host DOCKER_API_VERSION=1.41
    fi
    dockerd_stop || :
    # The engine's store keeps its network namespaces under a mount of <runroot>/netns.
    while umount -l "$work/run/netns" 2>/dev/null; do :; done
    rm -rf "$work"
}
trap cleanup EXIT

# Copies: the shared target dir may be rebuilt by a concurrent cargo while we run.
cp "$repo/target/release/berth" "$repo/target/release/berth-runtime" "$work/"
berth=("$work/berth" --root "$work/root" --runroot "$work/run" --runtime-root "$work/runtime"
    --runtime "$work/berth-runtime")
"${berth[@]}" load -i "$repo/.fixtures/busybox/oci-image.tar" >/dev/null
"${berth[@]}" serve --host "unix://$work/berth.sock" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
    [ -S "$work/berth.sock" ] && break
    sleep 0.05
done

dockerd_host=""
dockerd_start "$work/berth-runtime"
dockerd_host=$DOCKER_HOST
unset DOCKER_HOST DOCKER_API_VERSION

echo "== versions"
DOCKER_HOST="unix://$work/berth.sock" docker version --format 'berth serve {{.Server.Version}} (API {{.Server.APIVersion}}), docker CLI {{.Client.Version}}'
DOCKER_HOST=$dockerd_host docker version --format 'dockerd {{.Server.Version}} (API {{.Server.APIVersion}})'
echo

img=$DOCKERD_IMAGE
echo "== docker run --rm --network none $img true"
hyperfine -N --warmup 3 --export-json "$work/run.json" "$@" \
    -n "berth serve" "env DOCKER_HOST=unix://$work/berth.sock docker run --rm --network none $img true" \
    -n "dockerd 20.10" "env DOCKER_HOST=$dockerd_host DOCKER_API_VERSION=1.41 docker run --rm --network none $img true" \
    -n "berth run" "${berth[*]} run --rm --network none $img true"

echo "== medians (ms) and ratio to dockerd"
jq -r '
  (.results | map({key: .command, value: .median}) | from_entries) as $m
  | .results[] | "\(.command)\t\(.median * 1000 | . * 10 | round / 10) ms\tx\((.median / $m["dockerd 20.10"]) * 100 | round / 100)"' \
    "$work/run.json"

left=$(DOCKER_HOST="unix://$work/berth.sock" docker ps -aq)
if [ -n "$left" ]; then
    echo "bench: berth serve kept containers that --rm should have removed: $left" >&2
    exit 1
fi
