#!/usr/bin/env bash
# The dockerd lane: Debian's dockerd 20.10 drives berth-runtime (`--runtime berth`) through
# the docker CLI, and every step runs the same commands under `--runtime runc` right after,
# so a difference shows on the line below. Each step asserts what a docker user sees
# (output, exit codes, timing, docker inspect) and what the kernel holds (cgroup files).
#
# Usage (root): tests/clients/dockerd.sh   (BERTH_RUNTIME: the binary, default the debug
#               build in target/; tests/fixtures.sh must have run)
# Ends with "dockerd: N passed, N failed"; exits non-zero if any step failed under either
# runtime (a step that fails under runc too is wrong on this host, not a berth bug).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runtime=${BERTH_RUNTIME:-$repo/target/debug/berth-runtime}
[ -x "$runtime" ] || { echo "dockerd lane: $runtime missing (cargo build --workspace --bins)" >&2; exit 1; }
# shellcheck source=tests/clients/dockerd-lib.sh
. "$here/dockerd-lib.sh"

trap dockerd_stop EXIT
dockerd_start "$runtime"
echo "dockerd $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), $($runtime --version | head -1), $(runc --version | head -1)"

passed=0 failed=0
seen="" # what the running step observed, shown beside its verdict

# check LABEL GOT WANT: notes LABEL=GOT; fails the step if GOT is not WANT.
check() {
    seen+="$1=$2 "
    [ "$2" = "$3" ] || { seen+="(want $3) "; return 1; }
}
# check_range LABEL GOT MIN MAX (integers)
check_range() {
    seen+="$1=$2 "
    [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || { seen+="(want $3..$4) "; return 1; }
}
# cgroup_file CONTROLLER CONTAINER FILE: the value in the container's v1 cgroup.
cgroup_file() {
    local id
    id=$(docker inspect -f '{{.Id}}' "$2")
    cat "/sys/fs/cgroup/$1/${DOCKERD_CGROUP_PARENT#/}/$id/$3"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
drun() { docker run --network none --runtime "$rt" "$@"; }

# step NAME TITLE: runs step_NAME under each runtime and prints one line each.
step() {
    local name=$1 title=$2 rt verdict
    echo "== $title"
    for rt in berth runc; do
        seen=""
        if (set +e; "step_$name") >"$DOCKERD_DIR/step.out" 2>&1; then
            verdict=ok passed=$((passed + 1))
        else
            verdict=FAIL failed=$((failed + 1))
        fi
        # (none when the step died before its report)
        seen=$(grep -a '^seen: ' "$DOCKERD_DIR/step.out" | tail -1 | cut -c7- || true)
        printf '  %-6s %-4s %s\n' "$rt" "$verdict" "$seen"
        if [ "$verdict" = FAIL ]; then
            grep -av '^seen: ' "$DOCKERD_DIR/step.out" | tail -20 | sed 's/^/         | /' || true
        fi
        docker rm -f "$name-$rt" >/dev/null 2>&1 || true
    done
}
# A step runs in a subshell: it reports what it saw on its last line.
report() { echo "seen: $seen"; }

step_run_rm() {
    local out rc=0
    out=$(drun --rm --name "run_rm-$rt" "$DOCKERD_IMAGE" echo hello from docker) || rc=$?
    check out "$out" "hello from docker" && check rc "$rc" 0 &&
        check gone "$(docker ps -aq --filter name="run_rm-$rt" | wc -l)" 0
    local r=$?; report; return $r
}

step_exit_codes() {
    # dockerd maps the runtime's error text: "not found"/"no such file" -> 127,
    # "permission denied" -> 126. (A signal's 128+n: the stop steps.)
    code() {
        local c=0
        drun --rm "$DOCKERD_IMAGE" "$@" >/dev/null || c=$? # errors shown if the step fails
        echo "$c"
    }
    local codes
    codes="$(code true),$(code sh -c 'exit 7'),$(code sh -c 'exit 255'),$(code /no/such/binary),$(code /etc/passwd)"
    check codes "$codes" "0,7,255,127,126"
    local r=$?; report; return $r
}

step_detached() {
    local r=0
    drun -d --name "detached-$rt" "$DOCKERD_IMAGE" \
        sh -c 'echo started; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done' >/dev/null || r=1
    local out rc=0
    out=$(docker exec "detached-$rt" sh -c 'echo from-exec; exit 4') || rc=$?
    check exec "$out/$rc" "from-exec/4" || r=1
    check logs "$(docker logs "detached-$rt" 2>&1 | tr '\n' ,)" "started," || r=1
    # TERM handled: stop returns as soon as the process exits, well inside the grace period.
    local t0 ms
    t0=$(now_ms)
    docker stop -t 10 "detached-$rt" >/dev/null || r=1
    ms=$(($(now_ms) - t0))
    check_range stop_ms "$ms" 0 3000 || r=1
    check exit "$(docker inspect -f '{{.State.ExitCode}}' "detached-$rt")" 3 || r=1
    check logs "$(docker logs "detached-$rt" 2>&1 | tr '\n' ,)" "started,got-term," || r=1
    # rm: the container, its cgroup and its runtime state go.
    local id
    id=$(docker inspect -f '{{.Id}}' "detached-$rt")
    docker rm "detached-$rt" >/dev/null || r=1
    check rm "$(docker ps -aq --filter name="detached-$rt" | wc -l)" 0 || r=1
    check cgroup "$(ls -d /sys/fs/cgroup/*/"${DOCKERD_CGROUP_PARENT#/}/$id" 2>/dev/null | wc -l)" 0 || r=1
    check state "$(ls -d "$DOCKERD_DIR"/exec/runtime-*/moby/"$id" 2>/dev/null | wc -l)" 0 || r=1
    report; return $r
}

step_stop_term_ignored() {
    # A pid-1 sleep has no TERM handler, so the kernel drops TERM: stop waits the grace
    # period (2 s) and then KILLs.
    local r=0 t0 ms
    drun -d --name "stop_term_ignored-$rt" "$DOCKERD_IMAGE" sleep 1000 >/dev/null || r=1
    t0=$(now_ms)
    docker stop -t 2 "stop_term_ignored-$rt" >/dev/null || r=1
    ms=$(($(now_ms) - t0))
    check_range stop_ms "$ms" 2000 5000 || r=1
    check exit "$(docker inspect -f '{{.State.ExitCode}}' "stop_term_ignored-$rt")" 137 || r=1
    report; return $r
}

step_tty_resize() {
    # -it on a real pty (24x80): the container sees a tty of that size; the pty is resized
    # to 40x132 and docker passes the new size on; the exit code comes through.
    local out rc=0
    out=$(python3 "$here/pty-resize.py" 'size:24 80' docker run --rm -it --network none --runtime "$rt" \
        "$DOCKERD_IMAGE" sh -c 'tty
            w() { for i in $(seq 100); do s=$(stty size 2>/dev/null)
                  [ -n "$s" ] && [ "$s" != "$1" ] && break; sleep 0.1; done; echo "size:$s"; }
            w ""; w "24 80"; exit 6') || rc=$?
    check out "$(echo "$out" | tr -d '\r' | tr '\n' ,)" "/dev/pts/0,size:24 80,size:40 132," &&
        check rc "$rc" 6
    local r=$?; report; return $r
}

step_pause() {
    local r=0 c="pause-$rt"
    drun -d --name "$c" "$DOCKERD_IMAGE" sleep 1000 >/dev/null || r=1
    docker pause "$c" >/dev/null || r=1
    check status "$(docker inspect -f '{{.State.Status}}' "$c")" paused || r=1
    check freezer "$(cgroup_file freezer "$c" freezer.state)" FROZEN || r=1
    docker unpause "$c" >/dev/null || r=1
    check status "$(docker inspect -f '{{.State.Status}}' "$c")" running || r=1
    check freezer "$(cgroup_file freezer "$c" freezer.state)" THAWED || r=1
    check exec "$(docker exec "$c" echo alive)" alive || r=1
    report; return $r
}

step_top_stats() {
    local r=0 c="top_stats-$rt"
    drun -d --name "$c" "$DOCKERD_IMAGE" sleep 1000 >/dev/null || r=1
    check top "$(docker top "$c" -o pid,args | awk 'NR > 1 {print $2, $3}')" "sleep 1000" || r=1
    local stats pids mem
    stats=$(docker stats --no-stream --format '{{.PIDs}} {{.MemUsage}}' "$c") || r=1
    pids=${stats%% *} mem=${stats#* }
    check pids "$pids" 1 || r=1
    # Memory usage is read from the container's cgroup: some KiB, never 0B.
    seen+="mem=${mem// /} "
    case $mem in [1-9]*KiB*|[1-9]*MiB*) ;; *) seen+="(want >0) "; r=1 ;; esac
    report; return $r
}

step_update() {
    local r=0 c="update-$rt"
    drun -d --name "$c" "$DOCKERD_IMAGE" sleep 1000 >/dev/null || r=1
    # dockerd writes blockIO weight 0 ("not set") into every config on a kernel without
    # blkio.weight, as this one: the create above had to accept it.
    local id
    id=$(docker inspect -f '{{.Id}}' "$c")
    check blkio "$(jq -c .linux.resources.blockIO \
        "$DOCKERD_DIR/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/$id/config.json")" \
        '{"weight":0}' || r=1
    docker update --memory 64m --memory-swap 64m --cpus 0.5 --pids-limit 50 "$c" >/dev/null || r=1
    check mem "$(cgroup_file memory "$c" memory.limit_in_bytes)" 67108864 || r=1
    check quota "$(cgroup_file cpu "$c" cpu.cfs_quota_us)/$(cgroup_file cpu "$c" cpu.cfs_period_us)" 50000/100000 || r=1
    check pids "$(cgroup_file pids "$c" pids.max)" 50 || r=1
    # dockerd sends every resource with each update, the unset ones as 0: a 0 must leave
    # its limit as it is.
    docker update --pids-limit 60 "$c" >/dev/null || r=1
    check pids "$(cgroup_file pids "$c" pids.max)" 60 || r=1
    check mem "$(cgroup_file memory "$c" memory.limit_in_bytes)" 67108864 || r=1
    check quota "$(cgroup_file cpu "$c" cpu.cfs_quota_us)" 50000 || r=1
    report; return $r
}

step_oom() {
    # tail of an endless line keeps it all in memory: the cgroup's OOM killer ends it.
    local r=0 rc=0 c="oom-$rt"
    drun --name "$c" --memory 32m --memory-swap 32m "$DOCKERD_IMAGE" tail /dev/zero >/dev/null 2>&1 || rc=$?
    check rc "$rc" 137 || r=1
    check OOMKilled "$(docker inspect -f '{{.State.OOMKilled}}' "$c")" true || r=1
    report; return $r
}

step run_rm "run --rm: output, the container removed"
step exit_codes "exit codes: 0, 7, 255, missing binary, not executable"
step detached "run -d, exec, logs, stop (TERM handled: at once), rm (cgroup and state gone)"
step stop_term_ignored "stop of a TERM-ignoring pid 1: the grace period, then KILL"
step tty_resize "run -it on a pty, resized"
step pause "pause / unpause: the freezer cgroup"
step top_stats "top, stats --no-stream"
step update "blockIO weight 0 at create; update --memory/--cpus/--pids-limit: the limits in the cgroup"
step oom "--memory 32m: OOM kill, OOMKilled=true"

echo "== no leftovers: containers, runtime state, cgroups, shims, overlay mounts"
left=$(dockerd_leftovers)
if [ -z "$left" ]; then
    echo "  both   ok"
    passed=$((passed + 1))
else
    echo "  both   FAIL $left"
    failed=$((failed + 1))
fi

dockerd_stop
trap - EXIT
echo "dockerd: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
