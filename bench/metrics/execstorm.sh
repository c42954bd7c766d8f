#!/usr/bin/env bash
# Benchmark of issue 14 (d): exec-storm throughput and loss with the audit stream on
# and off.
#
#   bench/metrics/execstorm.sh [ROUNDS=5] [EXECS=20000]
#
# A bash loop forks and executes /bin/true EXECS times inside a container cgroup under
# berth/ (a state file makes it a discovered container), timed from inside. Variants,
# alternating order between rounds:
#   none        no exporter;
#   no-audit    berth-exporter --no-audit (counters only: exec/fork/exit counts);
#   audit       berth-exporter, default policy, records to --audit-log;
#   audit-http  the same plus one `GET /events?container=NAME` subscriber (curl -N).
# Per variant: median loop time and execs/s; for the audit variants, the container's
# process_exec records delivered (log lines, and the subscriber's lines) and
# berth_exporter_events_lost_total{type="process_exec"}; delivered + lost must equal
# EXECS (the check fails the run otherwise); and the exporter's CPU time (user + system,
# from /proc/PID/stat, through the storm and the drain) per exec. Needs root, cgroup2, curl, and a release
# build: CARGO_TARGET_DIR=/work/tgt/metrics cargo build --release -p berth-metrics
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"

ROUNDS=${1:-5}
EXECS=${2:-20000}
VARIANTS="none no-audit audit audit-http"
EXPORTER=$(exporter_binary)
WORK=$(mktemp -d /run/berth-bench.execstorm.XXXXXX)
PORT=19591
NAME=bench-storm-$$
EXPORTER_PID="" CURL_PID=""

stop_bg() {
    [ -n "$CURL_PID" ] && { kill "$CURL_PID" 2>/dev/null || true; wait "$CURL_PID" 2>/dev/null || true; }
    [ -n "$EXPORTER_PID" ] && { kill "$EXPORTER_PID" 2>/dev/null || true; wait "$EXPORTER_PID" 2>/dev/null || true; }
    CURL_PID="" EXPORTER_PID=""
}
finish() {
    stop_bg
    remove_container "$NAME"
    rm -rf "$WORK"
}
trap finish EXIT

mkdir -p "$WORK/state"
make_container "$WORK/state" "$NAME"

start_exporter() { # start_exporter FLAGS...
    "$EXPORTER" --listen "127.0.0.1:$PORT" --berth-root "$WORK/state" \
        --runc-root /nonexistent --crun-root /nonexistent "$@" >/dev/null 2>"$WORK/exporter.log" &
    EXPORTER_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/metrics" 2>/dev/null | grep -q "$NAME" && return 0
        sleep 0.1
    done
    echo "exporter did not start" >&2
    cat "$WORK/exporter.log" >&2
    exit 1
}

lost() {
    curl -sf "http://127.0.0.1:$PORT/metrics" |
        awk '/^berth_exporter_events_lost_total\{type="process_exec"\}/ { print int($2) }'
}

# The loop itself, in the container's cgroup; prints its wall time in ns.
storm() {
    bash -c '
        echo $$ > "'"$CG2"'/berth/'"$NAME"'/cgroup.procs"
        start=$(date +%s%N)
        for ((i = 0; i < '"$EXECS"'; i++)); do /bin/true; done
        echo $(( $(date +%s%N) - start ))'
}

# Records of this container's process_exec of /bin/true in file $1.
delivered() {
    grep -F '"type":"process_exec"' "$1" | grep -F "\"id\":\"$NAME\"" | grep -cE '"binary":"(/usr)?/bin/true"' || true
}

cpu_ticks() { # cpu_ticks PID: utime + stime in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

run_variant() { # run_variant VARIANT: appends "variant ns delivered streamed lost cpu_us_per_exec" to results
    local v=$1 log="$WORK/audit-$1.jsonl" stream="$WORK/stream-$1.jsonl" ns d s l cpu0=0 cpu=-
    rm -f "$log" "$stream"
    case $v in
    none) ;;
    no-audit) start_exporter --no-audit ;;
    audit) start_exporter --audit-log "$log" ;;
    audit-http)
        start_exporter --audit-log "$log"
        curl -sN "http://127.0.0.1:$PORT/events?container=$NAME&type=process_exec" > "$stream" &
        CURL_PID=$!
        sleep 0.3
        ;;
    esac
    [ -n "$EXPORTER_PID" ] && cpu0=$(cpu_ticks "$EXPORTER_PID")
    ns=$(storm)
    d=- s=- l=-
    if [ "$v" = audit ] || [ "$v" = audit-http ]; then
        # Wait until the exporter has written everything or counted it lost.
        for _ in $(seq 300); do
            d=$(delivered "$log")
            l=$(lost)
            [ $((d + l)) -ge "$EXECS" ] && break
            sleep 0.1
        done
        if [ $((d + l)) -ne "$EXECS" ]; then
            echo "$v: $d delivered + $l lost != $EXECS generated" >&2
            exit 1
        fi
        [ "$v" = audit-http ] && s=$(grep -cE '"binary":"(/usr)?/bin/true"' "$stream" || true)
    fi
    if [ -n "$EXPORTER_PID" ]; then
        cpu=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$EXPORTER_PID")" -v hz="$(getconf CLK_TCK)" -v n="$EXECS" \
            'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
    fi
    stop_bg
    echo "$v $ns $d $s $l $cpu" >> "$WORK/results"
}

for r in $(seq "$ROUNDS"); do
    order=$VARIANTS
    [ $((r % 2)) -eq 0 ] && order=$(echo "$VARIANTS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for v in $order; do
        run_variant "$v"
    done
done

echo "exec storm: $EXECS fork+exec of /bin/true in a container cgroup, $ROUNDS rounds (median)"
printf '%-11s %10s %10s %10s %10s %8s %12s\n' variant "time" "execs/s" delivered streamed lost "exporter CPU"
base=""
for v in $VARIANTS; do
    ms=$(awk -v v="$v" '$1 == v { print $2 / 1e6 }' "$WORK/results" | median)
    [ -z "$base" ] && base=$ms
    rate=$(awk -v ms="$ms" -v n="$EXECS" 'BEGIN { printf "%d", n / (ms / 1000) }')
    d=$(awk -v v="$v" '$1 == v { print $3 }' "$WORK/results" | paste -sd/)
    s=$(awk -v v="$v" '$1 == v { print $4 }' "$WORK/results" | paste -sd/)
    l=$(awk -v v="$v" '$1 == v { print $5 }' "$WORK/results" | paste -sd/)
    cpu=$(awk -v v="$v" '$1 == v && $6 != "-" { print $6 }' "$WORK/results")
    [ -n "$cpu" ] && cpu=$(echo "$cpu" | median)
    printf '%-11s %8.0fms %10s %10s %10s %8s %9s us/exec  (%+.1f %%)\n' "$v" "$ms" "$rate" "${d%%/*}" "${s%%/*}" "${l%%/*}" \
        "${cpu:--}" "$(awk -v a="$ms" -v b="$base" 'BEGIN { print (a / b - 1) * 100 }')"
done
echo "(delivered/streamed/lost of the first round; every round checked delivered + lost = $EXECS)"
