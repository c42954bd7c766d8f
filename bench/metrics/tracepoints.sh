#!/usr/bin/env bash
# What the opt-in syscall tracepoints of the audit policy cost every task of the host:
# sensitive_open (syscalls:sys_enter_open/openat/creat) and privileged_syscall
# tracepoints (syscalls:sys_enter_<name> for the 24 privileged syscalls).
#
#   bench/metrics/tracepoints.sh [ROUNDS=5] [COUNT=500000]
#
# The loop is `dd if=/dev/zero of=/dev/null bs=1 count=COUNT` (1 M read/write syscalls,
# none of them traced; SCHED_FIFO 10 as in syscalls.sh) in a cgroup outside berth/,
# timed by hyperfine (5 runs per round),
# while: nothing runs (base); berth-exporter runs its default policy (default: nothing
# per-syscall attached); with sensitive_open on (open); with the privileged tracepoints
# on (privileged). Rounds alternate the order; medians of hyperfine's medians. Needs
# root, cgroup2, hyperfine, curl, a release build (see common.sh); mounts tracefs when
# it is not mounted, and unmounts it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"

ROUNDS=${1:-5}
COUNT=${2:-500000}
VARIANTS="base default open privileged"
EXPORTER=$(exporter_binary)
WORK=$(mktemp -d /run/berth-bench.tracepoints.XXXXXX)
PORT=19592
HOSTCG=$CG2/bench-tp-$$
EXPORTER_PID="" MOUNTED_TRACEFS=""

finish() {
    [ -n "$EXPORTER_PID" ] && { kill "$EXPORTER_PID" 2>/dev/null || true; wait "$EXPORTER_PID" 2>/dev/null || true; }
    rmdir "$HOSTCG" 2>/dev/null || true
    [ -n "$MOUNTED_TRACEFS" ] && umount /sys/kernel/tracing
    rm -rf "$WORK"
}
trap finish EXIT
ensure_tracefs
mkdir -p "$HOSTCG" "$WORK/state"
printf '[events]\nsensitive_open = true\n' > "$WORK/open.toml"
printf '[privileged_syscall]\ntracepoints = true\n' > "$WORK/privileged.toml"

run_variant() {
    local v=$1 ms
    case $v in
    base) ;;
    default) set -- ;;
    open) set -- --audit-policy "$WORK/open.toml" ;;
    privileged) set -- --audit-policy "$WORK/privileged.toml" ;;
    esac
    if [ "$v" != base ]; then
        "$EXPORTER" --listen "127.0.0.1:$PORT" --berth-root "$WORK/state" \
            --runc-root /nonexistent --crun-root /nonexistent "$@" >/dev/null 2>"$WORK/exporter.log" &
        EXPORTER_PID=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1 && break; sleep 0.1; done
        curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null || { cat "$WORK/exporter.log" >&2; exit 1; }
    fi
    hyperfine -N -w 1 -r 5 --export-json "$WORK/h.json" \
        "chrt -f 10 bash -c 'echo \$\$ > $HOSTCG/cgroup.procs; exec dd if=/dev/zero of=/dev/null bs=1 count=$COUNT status=none'" >/dev/null
    ms=$(awk -F: '/"median"/ { gsub(/[ ,]/, "", $2); print $2 * 1000; exit }' "$WORK/h.json")
    echo "$v $ms" >> "$WORK/results"
    if [ -n "$EXPORTER_PID" ]; then
        kill "$EXPORTER_PID"
        wait "$EXPORTER_PID" 2>/dev/null || true
        EXPORTER_PID=""
    fi
}

for r in $(seq "$ROUNDS"); do
    order=$VARIANTS
    [ $((r % 2)) -eq 0 ] && order=$(echo "$VARIANTS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for v in $order; do run_variant "$v"; done
done
echo "host loop: dd bs=1 count=$COUNT ($((COUNT * 2)) syscalls), $ROUNDS rounds, medians"
base=$(awk '$1 == "base" { print $2 }' "$WORK/results" | median)
for v in $VARIANTS; do
    ms=$(awk -v v="$v" '$1 == v { print $2 }' "$WORK/results" | median)
    awk -v v="$v" -v ms="$ms" -v b="$base" -v n=$((COUNT * 2)) \
        'BEGIN { printf "%-11s %8.1f ms  %+6.1f %%  %+5.0f ns per syscall\n", v, ms, (ms / b - 1) * 100, (ms - b) * 1e6 / n }'
done
