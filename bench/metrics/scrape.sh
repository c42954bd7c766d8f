#!/usr/bin/env bash
# Benchmark (b): /metrics latency and exporter RSS with N containers (default 100),
# each a cgroup under berth/ (v2 + v1 memory, cpu, cpuacct, pids) holding a process.
#
#   bench/metrics/scrape.sh [CONTAINERS] [SCRAPES]
# EXPORTER_ARGS adds exporter flags (e.g. --no-bpf, --no-syscall-labels).
set -euo pipefail
cd "$(dirname "$0")"
. ./common.sh
N=${1:-100}
SCRAPES=${2:-50}
EXPORTER=$(exporter_binary)
STATE=$(mktemp -d)
PORT=${PORT:-19587}
EXPORTER_PID=""
SLEEPERS=()
cleanup() {
    set +e
    [ -n "$EXPORTER_PID" ] && kill "$EXPORTER_PID" 2>/dev/null && wait "$EXPORTER_PID" 2>/dev/null
    for pid in "${SLEEPERS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for i in $(seq "$N"); do remove_container "bench-scrape-$$-$i"; done
    rm -rf "$STATE"
}
trap cleanup EXIT

for i in $(seq "$N"); do
    name=bench-scrape-$$-$i
    make_container "$STATE" "$name"
    sleep 600 &
    SLEEPERS+=($!)
    enter_container "$name" $!
done

"$EXPORTER" --listen 127.0.0.1:$PORT --berth-root "$STATE" --runc-root /nonexistent --crun-root /nonexistent ${EXPORTER_ARGS:-} 2>/dev/null &
EXPORTER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && break; sleep 0.1; done

times=()
for _ in $(seq "$SCRAPES"); do
    times+=("$(curl -s -o /tmp/berth-scrape-$$.txt -w '%{time_total}' "http://127.0.0.1:$PORT/metrics")")
done
containers=$(grep -c '^container_last_seen{' /tmp/berth-scrape-$$.txt || true)
series=$(grep -vc '^#' /tmp/berth-scrape-$$.txt || true)
bytes=$(wc -c < /tmp/berth-scrape-$$.txt)
rm -f /tmp/berth-scrape-$$.txt
rss_kb=$(awk '/^VmRSS/ { print $2 }' /proc/$EXPORTER_PID/status)
hwm_kb=$(awk '/^VmHWM/ { print $2 }' /proc/$EXPORTER_PID/status)
printf '%d containers discovered, %d series, %d bytes per scrape, %d scrapes\n' "$containers" "$series" "$bytes" "$SCRAPES"
printf 'scrape latency: median %.1f ms, max %.1f ms\n' \
    "$(printf '%s\n' "${times[@]}" | median | awk '{ print $1 * 1000 }')" \
    "$(printf '%s\n' "${times[@]}" | sort -g | tail -1 | awk '{ print $1 * 1000 }')"
printf 'exporter RSS: %.1f MB (peak %.1f MB)\n' "$(echo "$rss_kb / 1024" | bc -l)" "$(echo "$hwm_kb / 1024" | bc -l)"
