# Shared by the metrics benchmarks: throw-away cgroups and berth state files.
# Sourced, not run. Needs root, a cgroup2 mount and the v1 controllers of a hybrid host
# (pure v2 hosts: only the v2 directory is created).

CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || { echo "no cgroup2 mount" >&2; exit 1; }
V1_CONTROLLERS="memory cpu cpuacct pids"

# make_container STATE_ROOT NAME [ANNOTATIONS]: creates the cgroups and
# <root>/<name>/state.json; ANNOTATIONS are extra JSON members ("k":"v",...).
make_container() {
    local root=$1 name=$2 extra=${3:-} v1json="" c dir
    mkdir -p "$CG2/berth/$name"
    for c in $V1_CONTROLLERS; do
        dir=/sys/fs/cgroup/$c/berth/$name
        if [ "$(stat -f -c %T /sys/fs/cgroup/$c 2>/dev/null)" = cgroupfs ]; then
            mkdir -p "$dir"
            v1json="$v1json${v1json:+,}\"$c\":\"$dir\""
        fi
    done
    mkdir -p "$root/$name"
    cat > "$root/$name/state.json" <<JSON
{"ociVersion":"1.2.0","id":"$name","status":"running","pid":0,"bundle":"/nonexistent",
 "annotations":{"berth.name":"$name","berth.image":"bench:latest"${extra:+,$extra}},
 "created":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","cgroup":{"relativePath":"/berth/$name",
 "v2Dir":"$CG2/berth/$name","v2Id":$(stat -c %i "$CG2/berth/$name"),"v1Dirs":{$v1json}}}
JSON
}

# enter_container NAME PID: moves PID into every hierarchy of the container.
enter_container() {
    local name=$1 pid=$2 c
    echo "$pid" > "$CG2/berth/$name/cgroup.procs"
    for c in $V1_CONTROLLERS; do
        [ -d "/sys/fs/cgroup/$c/berth/$name" ] && echo "$pid" > "/sys/fs/cgroup/$c/berth/$name/cgroup.procs"
    done
    return 0
}

# remove_container NAME: kills what is left inside and removes the cgroups.
remove_container() {
    local name=$1 c dir
    for dir in "$CG2/berth/$name" $(for c in $V1_CONTROLLERS; do echo "/sys/fs/cgroup/$c/berth/$name"; done); do
        [ -d "$dir" ] || continue
        xargs -r kill -9 < "$dir/cgroup.procs" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
    done
}

# ensure_tracefs: mounts tracefs at /sys/kernel/tracing unless it is there (bpftrace and
# the syscall tracepoints need it); sets MOUNTED_TRACEFS=1 when it mounted it, for the
# caller's cleanup to unmount.
ensure_tracefs() {
    if [ ! -d /sys/kernel/tracing/events ]; then
        mount -t tracefs tracefs /sys/kernel/tracing
        MOUNTED_TRACEFS=1
    fi
}

exporter_binary() {
    local bin=${BERTH_EXPORTER:-/work/tgt/metrics/release/berth-exporter}
    [ -x "$bin" ] || bin=$(dirname "$0")/../../target/release/berth-exporter
    [ -x "$bin" ] || { echo "build it first: cargo build --release -p berth-metrics (or set BERTH_EXPORTER)" >&2; exit 1; }
    echo "$bin"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
