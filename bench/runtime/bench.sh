#!/usr/bin/env bash
# berth-runtime vs runc vs crun, side by side in one run on this machine (hyperfine):
#   1. `run` of /bin/true (create + start + wait + delete in one command)
#   2. create / start / poll state until stopped / delete, as a shim drives a runtime
#   3. peak RSS of `create`: the runtime process (wait4, GNU time's %M) and the container
#      init it leaves waiting for `start` (VmHWM); median of 11 creates
# Usage (root): bench/runtime/bench.sh [hyperfine args, e.g. --runs 50]
#   BERTH_BENCH_RSS_ONLY=1 runs only 3.
#   BERTH_BENCH_DYNAMIC_RO=1 adds the dynamically linked release build on a read-only
#   bind mount (what setup.sh installed before the static-pie build).
# berth runs twice: "berth-installed" is the binary scripts/setup.sh installs (built by the
# same scripts/build-runtime.sh, on a read-only bind mount as installed), "berth" the
# dynamically linked release build run from the build dir.
# crun refuses hybrid cgroup hosts unless /sys/fs/cgroup/unified/cgroup.controllers is
# hidden, so the whole benchmark runs in a private mount namespace with an empty file
# bound over it: every runtime sees the same host.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
    cargo build --release -p berth-runtime --manifest-path "$repo/Cargo.toml" >&2
    installed=$(bash "$repo/scripts/build-runtime.sh")
    bash "$repo/tests/fixtures.sh" >&2
    exec unshare -m --propagation private env BERTH_BENCH_INNER=1 BERTH_BENCH_INSTALLED="$installed" \
        bash "$0" "$@"
fi

empty=$(mktemp)
mount --bind "$empty" /sys/fs/cgroup/unified/cgroup.controllers
work=$(mktemp -d /run/berth-bench.XXXXXX)
# Each step may fail (ro-release exists only with BERTH_BENCH_DYNAMIC_RO=1): errexit would
# end the trap at the first failure and leave $work behind.
trap 'for m in "$work/ro-installed" "$work/ro-release" /sys/fs/cgroup/unified/cgroup.controllers; do
    umount "$m" 2>/dev/null || :; done; rm -rf "$work" "$empty"' EXIT

berth="$repo/target/release/berth-runtime"
# As installed by scripts/setup.sh: on a read-only bind mount, where the CVE-2019-5736
# protection costs nothing. Run from the build dir, berth re-execs itself once per create
# from a private read-only view (about 1.4 ms); both are measured.
mkdir -p "$work/ro-installed"
mount --bind -o ro "$(dirname "$BERTH_BENCH_INSTALLED")" "$work/ro-installed"
berth_installed="$work/ro-installed/$(basename "$BERTH_BENCH_INSTALLED")"
bundle="$work/bundle"
mkdir -p "$bundle"
jq --arg root "$repo/.fixtures/busybox/rootfs" '.ociVersion = "1.0.2" | .root.path = $root | .process.args = ["/bin/true"]' \
    "$repo/.fixtures/busybox/config.json" > "$bundle/config.json"

declare -A rt=([berth-installed]="$berth_installed" [berth]="$berth" [runc]="$(command -v runc)"
    [crun]="$(command -v crun)")
names=(berth-installed berth runc crun)
if [ "${BERTH_BENCH_DYNAMIC_RO:-}" = 1 ]; then
    mkdir -p "$work/ro-release"
    mount --bind -o ro "$repo/target/release" "$work/ro-release"
    rt[berth-dynamic-ro]="$work/ro-release/berth-runtime"
    names+=(berth-dynamic-ro)
fi

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
"$berth_installed" --version; runc --version | head -1; crun --version | head -1
echo
if [ "${BERTH_BENCH_RSS_ONLY:-}" != 1 ]; then
    echo "== 1. run /bin/true"
    hyperfine -N --warmup 5 --export-json "$work/run.json" "$@" "${run_cmds[@]}"
    echo "== 2. create/start/state/delete"
    hyperfine --warmup 3 --export-json "$work/cycle.json" "$@" "${cycle_cmds[@]}"

    echo "== medians (ms) and ratio to berth-installed"
    for f in run cycle; do
        jq -r --arg f "$f" '
          (.results | map({key: .command, value: .median}) | from_entries) as $m
          | .results[] | "\($f)\t\(.command)\t\(.median * 1000 | . * 100 | round / 100) ms\tx\((.median / $m["berth-installed"]) * 100 | round / 100)"' \
          "$work/$f.json"
    done
fi

# Peak RSS: each runtime's own, read by wait4() of the runtime process (GNU time's %M).
# The parent doing the fork+exec must be small: the kernel carries the peak of the
# pre-exec image into ru_maxrss, so a Python parent (as this script once used) reports
# its own ~14 MB for every runtime. GNU time's floor is under 1 MB (the /bin/true row).
# %M covers the runtime process and every helper it forks and reaps itself (berth's
# stage 1, runc's bootstrap); the container init it leaves waiting for `start` is not
# reaped by it, so its peak is read separately (VmHWM in /proc/PID/status, right after
# create returns). The tree's peak is the larger of the two.
rss_runs=${BERTH_BENCH_RSS_RUNS:-11}
echo "== 3. peak RSS of create, KiB (median of $rss_runs creates)"
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-17s %8s %8s %8s\n' runtime create init tree
for n in /bin/true "${names[@]}"; do
    : > "$work/rss-create"; : > "$work/rss-init"
    for _ in $(seq "$rss_runs"); do
        if [ "$n" = /bin/true ]; then
            /usr/bin/time -f %M -a -o "$work/rss-create" /bin/true
            continue
        fi
        /usr/bin/time -f %M -a -o "$work/rss-create" \
            "${rt[$n]}" --root "$work/root-$n" create --bundle "$bundle" --pid-file "$work/rss.pid" rss >/dev/null
        awk '/^VmHWM:/ {print $2}' "/proc/$(cat "$work/rss.pid")/status" >> "$work/rss-init"
        "${rt[$n]}" --root "$work/root-$n" delete --force rss
    done
    c=$(median < "$work/rss-create") i=$(median < "$work/rss-init")
    printf '%-17s %8s %8s %8s\n' "$n" "$c" "${i:--}" "$(( c > ${i:-0} ? c : ${i:-0} ))"
    echo "$c" >> "$work/rss-all"
done
# One figure for programs as different as /bin/true, a Go and a C runtime means the
# measurement took someone else's peak (as the Python parent's once did).
if [ "$(sort -u "$work/rss-all" | wc -l)" -lt 3 ]; then
    echo "peak RSS: the same figure for different programs, the measurement is broken" >&2
    exit 1
fi
