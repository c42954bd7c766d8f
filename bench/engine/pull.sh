#!/usr/bin/env bash
# `berth pull` of a 5-layer, ~50 MB image (random data: incompressible, gzip layers) from
# a local docker-registry (distribution 2.8, 127.0.0.1, plain http) beside `skopeo copy`
# to an OCI directory and `podman pull`, each from a cold store every round (hyperfine
# --prepare empties it), side by side. berth's figure includes verifying each layer's
# digest and diff_id and unpacking it into the store (what `run` needs), skopeo's only
# the download and its digest checks, podman's download plus unpacking into containers/storage.
# Usage (root): bench/engine/pull.sh [hyperfine args, e.g. --runs 10]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -p berth-engine --bin berth --manifest-path "$repo/Cargo.toml" >&2
berth=$repo/target/release/berth

work=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
reg_pid=
cleanup() {
    if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; fi
    # podman's store may hold overlay mounts of its own.
    podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver overlay system reset -f >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/storage"
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
  secret: bench
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# The image: busybox's layer under 5 layers of 10 MB random data each, made with umoci
# (each repack from a fresh unpack: a repack is a diff against its bundle's unpack).
img=$work/layout
skopeo copy --quiet "oci-archive:$repo/.fixtures/busybox/oci-image.tar" "oci:$img:bench" >&2
for i in 1 2 3 4 5; do
    umoci unpack --image "$img:bench" "$work/bundle" >&2
    head -c 10000000 /dev/urandom > "$work/bundle/rootfs/data$i.bin"
    umoci repack --image "$img:bench" "$work/bundle" >&2
    rm -rf "$work/bundle"
done
ref=127.0.0.1:$port/bench/random:latest
skopeo copy --quiet --dest-tls-verify=false "oci:$img:bench" "docker://$ref" >&2
echo "== image: $ref"
skopeo inspect --tls-verify=false "docker://$ref" | jq -r '"\(.Layers | length) layers, digest \(.Digest)"'
du -sh "$work/storage" | awk '{print "registry storage: " $1}'
echo "== versions"
"$berth" --version
skopeo --version
podman --version
echo

export BERTH_REGISTRIES_CONFIG=$work/none.json BERTH_AUTH_FILE=$work/auth.json
# docker's default is 3 layers at once; this image has 6.
echo '{"max-concurrent-downloads": 6}' > "$work/six.json"
b="$berth --root $work/berth/root --runroot $work/berth/run"
p="podman --root $work/podman/root --runroot $work/podman/run --storage-driver overlay"
hyperfine -N --warmup 1 --runs 10 --export-json "$work/pull.json" "$@" \
    --prepare "rm -rf $work/berth $work/skopeo" -n "berth pull" "$b pull -q $ref" \
    --prepare "rm -rf $work/berth $work/skopeo" -n "berth pull (6 at once)" \
        "env BERTH_REGISTRIES_CONFIG=$work/six.json $b pull -q $ref" \
    --prepare "rm -rf $work/berth $work/skopeo" -n "skopeo copy (to an OCI dir)" \
        "skopeo copy --quiet --src-tls-verify=false docker://$ref oci:$work/skopeo:bench" \
    --prepare "bash -c '$p rmi -af >/dev/null 2>&1 || true'" -n "podman pull" \
        "$p pull -q --tls-verify=false $ref"

echo "== medians (s) and ratio to berth"
jq -r '
  (.results | map({key: .command, value: .median}) | from_entries) as $m
  | .results[] | "\(.command)\t\(.median * 1000 | round / 1000) s\tx\((.median / $m["berth pull"]) * 100 | round / 100)"' \
    "$work/pull.json"
