#!/usr/bin/env bash
# Benchmark (a): a syscall-heavy loop in a container cgroup, with and without
# berth-exporter (BPF programs attached, container watched), side by side.
#
#   bench/metrics/overhead.sh [ROUNDS] [COUNT] [BS]
#
# Each run is `dd if=/dev/zero of=/dev/null bs=BS count=COUNT` (2 syscalls per block;
# default bs=1, 5,000,000 blocks = 10 M syscalls doing almost nothing: the worst case)
# in a fresh cgroup under berth/. Rounds alternate without/with so drift hits both
# equally; medians are compared. EXPORTER_ARGS adds exporter flags
# (e.g. --no-syscall-errors).
set -euo pipefail
cd "$(dirname "$0")"
. ./common.sh
ROUNDS=${1:-5}
COUNT=${2:-5000000}
BS=${3:-1}
EXPORTER=$(exporter_binary)
STATE=$(mktemp -d)
NAME=bench-overhead-$$
PORT=${PORT:-19586}
EXPORTER_PID=""
cleanup() {
    set +e
    [ -n "$EXPORTER_PID" ] && kill "$EXPORTER_PID" 2>/dev/null && wait "$EXPORTER_PID" 2>/dev/null
    remove_container "$NAME"
    rm -rf "$STATE"
}
trap cleanup EXIT
make_container "$STATE" "$NAME"

run_loop() {
    # The shell enters the cgroup, then execs dd: every dd syscall is in the container.
    local start end
    start=$(date +%s.%N)
    sh -c "echo \$\$ > $CG2/berth/$NAME/cgroup.procs; exec dd if=/dev/zero of=/dev/null bs=$BS count=$COUNT status=none"
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

start_exporter() {
    "$EXPORTER" --listen 127.0.0.1:$PORT --berth-root "$STATE" --runc-root /nonexistent --crun-root /nonexistent ${EXPORTER_ARGS:-} 2>/dev/null &
    EXPORTER_PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && return; sleep 0.1; done
    echo "exporter did not start" >&2; exit 1
}
stop_exporter() { kill "$EXPORTER_PID"; wait "$EXPORTER_PID" 2>/dev/null || true; EXPORTER_PID=""; }

without=(); with=()
run_loop >/dev/null  # warm-up
for r in $(seq "$ROUNDS"); do
    without+=("$(run_loop)")
    start_exporter
    with+=("$(run_loop)")
    syscalls=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk -v n="$NAME" '/^berth_container_syscalls_total/ && index($0, "name=\"" n "\"") { s += $NF } END { printf "%d", s }')
    stop_exporter
    printf 'round %d: without %.3fs  with %.3fs  (exporter counted %s syscalls)\n' "$r" "${without[-1]}" "${with[-1]}" "$syscalls"
done
m0=$(printf '%s\n' "${without[@]}" | median)
m1=$(printf '%s\n' "${with[@]}" | median)
printf '\ndd bs=%s count=%d (%d syscalls) per run, %d rounds, exporter flags: %s\n' "$BS" "$COUNT" $((COUNT * 2)) "$ROUNDS" "${EXPORTER_ARGS:-(none)}"
printf 'median without exporter: %.3f s\nmedian with exporter:    %.3f s\nslowdown:                %.2f %%\n' \
    "$m0" "$m1" "$(echo "($m1 - $m0) * 100 / $m0" | bc -l)"
