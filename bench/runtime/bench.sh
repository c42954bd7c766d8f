#!/usr/bin/env bash
# berth-runtime vs runc vs crun, side by side in one run on this machine (hyperfine):
#   1. `run` of /bin/true (create + start + wait + delete in one command)
#   2. create / start / poll state until stopped / delete, as a shim drives a runtime
#   3. peak RSS of `create`
# Usage (root): bench/runtime/bench.sh [hyperfine args, e.g. --runs 50]
# crun refuses hybrid cgroup hosts unless /sys/fs/cgroup/unified/cgroup.controllers is
# hidden, so the whole benchmark runs in a private mount namespace with an empty file
# bound over it: every runtime sees the same host.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
    cargo build --release -p berth-runtime --manifest-path "$repo/Cargo.toml" >&2
    bash "$repo/tests/fixtures.sh" >&2
    exec unshare -m --propagation private env BERTH_BENCH_INNER=1 bash "$0" "$@"
fi

empty=$(mktemp)
mount --bind "$empty" /sys/fs/cgroup/unified/cgroup.controllers
work=$(mktemp -d /run/berth-bench.XXXXXX)
trap 'umount "$work/ro-bin" 2>/dev/null; umount /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; rm -rf "$work" "$empty"' EXIT

berth="$repo/target/release/berth-runtime"
# As installed by scripts/setup.sh: on a read-only bind mount, where the CVE-2019-5736
# protection costs nothing. Run from the build dir, berth re-execs itself once per create
# from a private read-only view (about 1.4 ms); both are measured.
mkdir -p "$work/ro-bin"
mount --bind -o ro "$repo/target/release" "$work/ro-bin"
berth_ro="$work/ro-bin/berth-runtime"
bundle="$work/bundle"
mkdir -p "$bundle"
jq --arg root "$repo/.fixtures/busybox/rootfs" '.ociVersion = "1.0.2" | .root.path = $root | .process.args = ["/bin/true"]' \
    "$repo/.fixtures/busybox/config.json" > "$bundle/config.json"

declare -A rt=([berth]="$berth" [berth-ro]="$berth_ro" [runc]="$(command -v runc)" [crun]="$(command -v crun)")
names=(berth berth-ro runc crun)

cycle="$work/cycle.sh"
cat > "$cycle" <<'C'
#!/bin/bash
# create, start, poll state until stopped, delete
set -e
rt=$1 root=$2 bundle=$3 id=cycle
"$rt" --root "$root" create --bundle "$bundle" "$id" >/dev/null
"$rt" --root "$root" start "$id"
until "$rt" --root "$root" state "$id" | grep -q '"status": *"stopped"'; do :; done
"$rt" --root "$root" delete "$id"
C
chmod +x "$cycle"

run_cmds=() cycle_cmds=()
for n in "${names[@]}"; do
    mkdir -p "$work/root-$n"
    run_cmds+=(-n "$n" "${rt[$n]} --root $work/root-$n run --bundle $bundle bench-run")
    cycle_cmds+=(-n "$n" "$cycle ${rt[$n]} $work/root-$n $bundle")
done

echo "== versions"
"$berth" --version; runc --version | head -1; crun --version | head -1
echo
echo "== 1. run /bin/true"
hyperfine -N --warmup 5 --export-json "$work/run.json" "$@" "${run_cmds[@]}"
echo "== 2. create/start/state/delete"
hyperfine --warmup 3 --export-json "$work/cycle.json" "$@" "${cycle_cmds[@]}"

echo "== medians (ms) and ratio to berth"
for f in run cycle; do
    jq -r --arg f "$f" '
      (.results | map({key: .command, value: .median}) | from_entries) as $m
      | .results[] | "\($f)\t\(.command)\t\(.median * 1000 | . * 100 | round / 100) ms\tx\((.median / $m.berth) * 100 | round / 100)"' \
      "$work/$f.json"
done

echo "== 3. peak RSS of create (KiB)"
for n in "${names[@]}"; do
    python3 - "${rt[$n]}" "$work/root-$n" "$bundle" "$n" <<'P'
import resource, subprocess, sys
rt, root, bundle, name = sys.argv[1:]
subprocess.run([rt, "--root", root, "create", "--bundle", bundle, "rss"], check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
subprocess.run([rt, "--root", root, "delete", "--force", "rss"], check=False)
print(f"{name}\t{rss} KiB")
P
done
