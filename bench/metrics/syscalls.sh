#!/usr/bin/env bash
# Benchmark of issue 14 (a)-(c): what syscall counting costs, side by side in one run.
#
#   bench/metrics/syscalls.sh [REPEATS=7] [RUNS=5] [COUNT=500000]
#
# The loop is `dd if=/dev/zero of=/dev/null bs=1 count=COUNT` (2 syscalls per block:
# default 500000 blocks = 1 M syscalls) at SCHED_FIFO priority 10, moved first into a
# cgroup:
#   host-*     a cgroup outside berth/ (no container);
#   plain-*    a container under berth/ that did not opt in;
#   counted-*  the same kind of container, annotated berth.io/syscalls=count.
# What runs meanwhile (hyperfine --setup starts it, --cleanup stops it):
#   *-base            nothing;
#   *-exporter        berth-exporter, default mode (--syscalls=annotated), no container
#                     opted in: the syscall programs are not attached;
#   host-optin        berth-exporter while the counted container opted in (attached):
#                     what host tasks pay while someone counts;
#   counted-berth     berth-exporter counting the container (sys_enter + sys_exit);
#   counted-berth-enter   same with --no-syscall-errors (sys_enter only);
#   bpftrace-enter    bpftrace: sys_enter /cgroup == ID/ { @[args->id] = count(); }
#   bpftrace-both     the same plus a sys_exit error count;
#   floor-enter, floor-both   empty programs on berth's attach points (tp_btf sys_enter,
#                     and sys_exit), loaded by ebpf/examples/empty_probe.rs.
# hyperfine runs every variant RUNS times per repeat; the variant order is reversed on
# every other repeat so drift hits both ends; the figures are medians over repeats of
# hyperfine's medians. Needs root, cgroup2, hyperfine, bpftrace, bpftool, clang-19, and
# builds: CARGO_TARGET_DIR=/work/tgt/metrics cargo build --release -p berth-metrics
#         CARGO_TARGET_DIR=/work/tgt/metrics cargo build --release -p berth-ebpf --example empty_probe
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"

VARIANTS="host-base host-exporter host-optin plain-base plain-exporter counted-berth counted-berth-enter bpftrace-enter bpftrace-both floor-enter floor-both"

# --- called by hyperfine, with BENCH_WORK etc. in the environment ----------------------

variant_cgroup() {
    case $1 in
    host-*) echo "$CG2/$BENCH_HOST" ;;
    plain-*) echo "$CG2/berth/$BENCH_PLAIN" ;;
    *) echo "$CG2/berth/$BENCH_COUNTED" ;;
    esac
}

# Links to a program named $2 held by process $1 (its bpf_link fds).
links_of() {
    local pid=$1 name=$2 fd id n=0
    for fd in /proc/"$pid"/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf_link" ] || continue
        id=$(awk '/^prog_id:/ { print $2 }' /proc/"$pid"/fdinfo/"${fd##*/}")
        # Not `| grep -q`: bpftool dying of SIGPIPE would fail the pipe (pipefail).
        case $(bpftool prog show id "$id" 2>/dev/null || true) in
        *" name $name "*) n=$((n + 1)) ;;
        esac
    done
    echo "$n"
}

start_bg() { # start_bg READY_REGEX CMD...: runs CMD in the background until READY_REGEX is printed.
    local ready=$1 out="$BENCH_WORK/bg.out"
    shift
    "$@" >"$out" 2>&1 &
    echo $! >>"$BENCH_WORK/pids"
    for _ in $(seq 300); do
        grep -qE "$ready" "$out" && return 0
        kill -0 $! 2>/dev/null || break
        sleep 0.1
    done
    echo "did not start: $*" >&2
    cat "$out" >&2
    exit 1
}

start_exporter() { # start_exporter STATE_ROOT FLAGS...: and scrape once (discovery, watch list, attach).
    local root=$1
    shift
    "$BENCH_EXPORTER" --listen 127.0.0.1:"$BENCH_PORT" --berth-root "$root" \
        --runc-root /nonexistent --crun-root /nonexistent "$@" >/dev/null 2>"$BENCH_WORK/exporter.log" &
    local pid=$!
    echo "$pid" >>"$BENCH_WORK/pids"
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$BENCH_PORT/metrics" >/dev/null && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$BENCH_PORT/metrics" >/dev/null || { echo "exporter did not start" >&2; cat "$BENCH_WORK/exporter.log" >&2; exit 1; }
    echo "$pid"
}

expect_links() { # expect_links PID ENTER EXIT: the exporter holds that many syscall links.
    local enter exit
    enter=$(links_of "$1" berth_sys_enter)
    exit=$(links_of "$1" berth_sys_exit)
    if [ "$enter" != "$2" ] || [ "$exit" != "$3" ]; then
        echo "berth-exporter $1 holds $enter sys_enter and $exit sys_exit links, expected $2 and $3" >&2
        ls -l /proc/"$1"/fd >&2
        cat "$BENCH_WORK/exporter.log" >&2
        exit 1
    fi
}

setup() {
    local v=$1 pid id
    : >"$BENCH_WORK/pids"
    id=$(stat -c %i "$CG2/berth/$BENCH_COUNTED")
    case $v in
    *-base) ;;
    host-exporter | plain-exporter)
        pid=$(start_exporter "$BENCH_WORK/plain")
        expect_links "$pid" 0 0 ;;
    host-optin | counted-berth)
        pid=$(start_exporter "$BENCH_WORK/both")
        expect_links "$pid" 1 1 ;;
    counted-berth-enter)
        pid=$(start_exporter "$BENCH_WORK/both" --no-syscall-errors)
        expect_links "$pid" 1 0 ;;
    bpftrace-enter)
        start_bg '^Attaching' bpftrace -e "tracepoint:raw_syscalls:sys_enter /cgroup == $id/ { @[args->id] = count(); }" ;;
    bpftrace-both)
        start_bg '^Attaching' bpftrace -e "tracepoint:raw_syscalls:sys_enter /cgroup == $id/ { @[args->id] = count(); }
            tracepoint:raw_syscalls:sys_exit /cgroup == $id && args->ret < 0/ { @errors = count(); }" ;;
    floor-enter)
        start_bg '^attached' "$BENCH_EMPTY_PROBE" "$BENCH_WORK/empty.bpf.o" empty_sys_enter ;;
    floor-both)
        start_bg '^attached' "$BENCH_EMPTY_PROBE" "$BENCH_WORK/empty.bpf.o" empty_sys_enter empty_sys_exit ;;
    *) echo "unknown variant $v" >&2; exit 1 ;;
    esac
}

cleanup() {
    local v=$1 pid
    case $v in
    counted-berth*)
        # Sanity: the exporter counted the loop's syscalls (getppid-free dd: read+write).
        curl -s "http://127.0.0.1:$BENCH_PORT/metrics" | awk -v n="$BENCH_COUNTED" -v v="$v" \
            '/^berth_container_syscalls_total/ && index($0, "name=\"" n "\"") { s += $NF } END { printf "%s: berth counted %d syscalls in the container\n", v, s }' >>"$BENCH_WORK/sanity.log" ;;
    esac
    [ -f "$BENCH_WORK/pids" ] || return 0
    while read -r pid; do
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true
    done <"$BENCH_WORK/pids"
    rm -f "$BENCH_WORK/pids"
}

loop() {
    echo $$ >"$(variant_cgroup "$1")/cgroup.procs"
    # SCHED_FIFO: other builds on the host preempt the loop less (same for every variant).
    exec chrt -f 10 dd if=/dev/zero of=/dev/null bs=1 count="$BENCH_COUNT" status=none
}

case ${1:-} in
# hyperfine hides what its setup and cleanup commands print: keep it for the failure report.
_setup) exec 2>>"$BENCH_WORK/setup.log"; setup "$2"; exit ;;
_cleanup) exec 2>>"$BENCH_WORK/setup.log"; cleanup "$2"; exit ;;
_loop) loop "$2" ;;
esac

# --- the benchmark ----------------------------------------------------------------------

REPEATS=${1:-7}
RUNS=${2:-5}
COUNT=${3:-500000}
for tool in hyperfine bpftrace bpftool clang-19 curl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
EXPORTER=$(exporter_binary)
EMPTY_PROBE=$(dirname "$EXPORTER")/examples/empty_probe
[ -x "$EMPTY_PROBE" ] || { echo "build it first: cargo build --release -p berth-ebpf --example empty_probe" >&2; exit 1; }

WORK=$(mktemp -d)
HOST=bench-host-$$
PLAIN=bench-plain-$$
COUNTED=bench-counted-$$
MOUNTED_TRACEFS=""
finish() {
    set +e
    [ -f "$WORK/pids" ] && BENCH_WORK=$WORK cleanup none
    remove_container "$PLAIN"
    remove_container "$COUNTED"
    rmdir "$CG2/$HOST" 2>/dev/null
    [ -n "$MOUNTED_TRACEFS" ] && umount /sys/kernel/tracing
    rm -rf "$WORK"
}
trap finish EXIT

# bpftrace reads tracepoint formats from tracefs.
ensure_tracefs
clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$HERE/empty.bpf.c" -o "$WORK/empty.bpf.o"
mkdir -p "$CG2/$HOST"
make_container "$WORK/plain" "$PLAIN"
make_container "$WORK/both" "$PLAIN"
make_container "$WORK/both" "$COUNTED" '"berth.io/syscalls":"count"'

export BENCH_WORK=$WORK BENCH_HOST=$HOST BENCH_PLAIN=$PLAIN BENCH_COUNTED=$COUNTED \
    BENCH_COUNT=$COUNT BENCH_EXPORTER=$EXPORTER BENCH_EMPTY_PROBE=$EMPTY_PROBE \
    BENCH_PORT=${PORT:-19587}

echo "dd bs=1 count=$COUNT ($((COUNT * 2)) syscalls) per run; $RUNS runs per variant; $REPEATS repeats"
echo "kernel $(uname -r), $(nproc) CPUs; exporter $EXPORTER"
for r in $(seq "$REPEATS"); do
    order=$VARIANTS
    [ $((r % 2)) -eq 0 ] && order=$(echo "$VARIANTS" | tr ' ' '\n' | tac | tr '\n' ' ')
    echo "repeat $r: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    hyperfine -N --warmup 2 --runs "$RUNS" --style none \
        -L variant "$(echo $order | tr ' ' ',')" \
        --setup "bash $HERE/syscalls.sh _setup {variant}" \
        --cleanup "bash $HERE/syscalls.sh _cleanup {variant}" \
        --export-json "$WORK/repeat-$r.json" \
        "bash $HERE/syscalls.sh _loop {variant}" >/dev/null || {
        echo "hyperfine failed; setup/cleanup said:" >&2
        cat "$WORK/setup.log" >&2
        exit 1
    }
    echo "repeat $r: load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
done

sort "$WORK/sanity.log" | uniq -c
python3 - "$WORK" "$REPEATS" "$((COUNT * 2))" <<'PY'
import json, statistics, sys
work, repeats, syscalls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per, every = {}, {}
for r in range(1, repeats + 1):
    for res in json.load(open(f"{work}/repeat-{r}.json"))["results"]:
        v = res["parameters"]["variant"]
        per.setdefault(v, []).append(statistics.median(res["times"]))
        every.setdefault(v, []).extend(res["times"])
med = {v: statistics.median(t) for v, t in per.items()}
low = {v: min(t) for v, t in every.items()}
rows = [("host-base", None), ("host-exporter", "host-base"), ("host-optin", "host-base"),
        ("plain-base", None), ("plain-exporter", "plain-base"),
        ("counted-berth", "plain-base"), ("counted-berth-enter", "plain-base"),
        ("bpftrace-enter", "plain-base"), ("bpftrace-both", "plain-base"),
        ("floor-enter", "plain-base"), ("floor-both", "plain-base")]
print("\n| variant | median of medians | vs base | min | vs base (min) | medians per repeat (ms) |")
print("|---|---|---|---|---|---|")
for v, base in rows:
    rel = lambda m: "" if base is None else f"{(m[v] / m[base] - 1) * 100:+.1f} %, {(m[v] - m[base]) * 1e9 / syscalls:+.0f} ns/syscall"
    print(f"| {v} | {med[v] * 1e3:.1f} ms | {rel(med)} | {low[v] * 1e3:.1f} ms | {rel(low)} | {' / '.join(f'{t * 1e3:.0f}' for t in per[v])} |")

def verdicts(m, what):
    ns = lambda v: (m[v] - m["plain-base"]) * 1e9 / syscalls
    ok = lambda c: "met" if c else "NOT met"
    a = (m["host-exporter"] / m["host-base"] - 1) * 100
    b = (m["plain-exporter"] / m["plain-base"] - 1) * 100
    print(f"\nfrom the {what}:")
    print(f"(a) host tasks, exporter in default mode vs none: {a:+.1f} % (target 0 within noise)")
    print(f"(b) container tasks, default mode: {b:+.1f} % (target <= 3 %): {ok(b <= 3)}")
    for label, berth, bt, floor in [("sys_enter+sys_exit", "counted-berth", "bpftrace-both", "floor-both"),
                                    ("sys_enter only", "counted-berth-enter", "bpftrace-enter", "floor-enter")]:
        x, y, z = ns(berth), ns(bt), ns(floor)
        print(f"(c) {label}: berth {x:+.0f} ns/syscall, bpftrace {y:+.0f} ns: {x / y:.2f}x (target <= 0.15x): "
              f"{ok(x <= 0.15 * y)}; floor {z:+.0f} ns: {x / z:.2f}x (target <= 1.5x): {ok(x <= 1.5 * z)}")

verdicts(med, "medians")
verdicts(low, "minimums")
PY
