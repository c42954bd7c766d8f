#!/usr/bin/env bash
# `berth run` against podman 4.3 and dockerd 20.10, side by side in one hyperfine run:
#   1. `run --rm IMAGE true` end to end (image in the store, overlay, network, runtime
#      create/start/delete, teardown, removal) with `--network none` and with each
#      engine's default bridge network (dockerd here has none: --bridge=none);
#   2. `run -d IMAGE sleep 600` until it returns (the container's `rm -f` is a hyperfine
#      --prepare step, outside the timing);
#   3. memory of the per-container process that stays: berth's monitor, podman's conmon,
#      dockerd's containerd-shim-runc-v2; VmRSS and Pss of each with N containers up.
# Medians. berth is the release build with berth-runtime as scripts/setup.sh installs it
# (scripts/build-runtime.sh, on a read-only bind mount); podman and dockerd use runc
# (podman's default crun refuses this hybrid cgroup host), and one podman row runs the
# same berth-runtime, so the engines differ by themselves alone.
# Each engine has its own store in a temp dir (berth --root/--runroot/--runtime-root,
# podman --root/--runroot/--tmpdir, dockerd's private instance of
# tests/clients/dockerd-lib.sh); the fixture image (tests/fixtures.sh) is loaded into
# each and tagged `busybox`: nothing is pulled. Everything made is removed at the end:
# containers, stores, berth's bridges and nftables tables, podman's cni-podman0, its CNI
# state and iptables chains when they were not there before.
# Usage (root): bench/engine/run.sh [hyperfine args, e.g. --runs 30]
#   BERTH_BENCH_MONITORS=N  containers for part 3 (default 10)
#   BERTH_BENCH_NO_DOCKER=1 leaves dockerd out
#   BERTH_BENCH_BIN_DIR=DIR takes berth and berth-runtime from DIR instead of building
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${BERTH_BENCH_BIN_DIR:-}" ]; then
    berth_bin=$BERTH_BENCH_BIN_DIR/berth installed=$BERTH_BENCH_BIN_DIR/berth-runtime
else
    cargo build --release -p berth-engine --manifest-path "$repo/Cargo.toml" >&2
    berth_bin=$repo/target/release/berth
    installed=$(bash "$repo/scripts/build-runtime.sh")
fi
bash "$repo/tests/fixtures.sh" >&2
# shellcheck source=tests/clients/dockerd-lib.sh
. "$repo/tests/clients/dockerd-lib.sh"

monitors=${BERTH_BENCH_MONITORS:-10}
docker_too=$([ "${BERTH_BENCH_NO_DOCKER:-}" = 1 ] || ! command -v dockerd >/dev/null || echo 1)
img=busybox
engines=(berth podman)
[ -z "$docker_too" ] || engines+=(docker)
ulimits=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
work=$(mktemp -d /var/tmp/berth-run-bench.XXXXXX)
# Copies: the shared target dir may be rebuilt by a concurrent cargo while we run.
mkdir -p "$work/bin"
cp "$berth_bin" "$work/bin/berth"
cp "$installed" "$work/bin/berth-runtime"
berth=("$work/bin/berth" --root "$work/berth/root" --runroot "$work/berth/run"
    --runtime-root "$work/berth/runtime" --runtime "$work/bin/berth-runtime")
podman=(podman --root "$work/podman/root" --runroot "$work/podman/run" --tmpdir "$work/podman/tmp")

# What podman's CNI bridge leaves on the host the first time; removed at the end unless
# it was there before.
had_cni_bridge=$(ip link show cni-podman0 >/dev/null 2>&1 && echo 1 || :)
had_cni_dir=$([ -e /var/lib/cni ] && echo 1 || :)
had_cni_chains=$(iptables -S CNI-FORWARD >/dev/null 2>&1 && echo 1 || :)
# iptables-nft makes these tables for podman's CNI plugins when there were none.
had_ip_filter=$(nft list table ip filter >/dev/null 2>&1 && echo 1 || :)
had_ip_nat=$(nft list table ip nat >/dev/null 2>&1 && echo 1 || :)

rm_all_berth() { "${berth[@]}" rm -f $("${berth[@]}" ps -aq) >/dev/null 2>&1 || :; }
cleanup() {
    set +e
    rm_all_berth
    local f bridge cni
    for f in "$work"/berth/root/networks/*.json; do
        [ -f "$f" ] || continue
        bridge=$(jq -r .bridge "$f") cni=$(jq -r .cni_name "$f")
        ip link del "$bridge" 2>/dev/null
        nft delete table inet "berth_${cni//[^a-zA-Z0-9]/_}" 2>/dev/null
    done
    while umount -l "$work/berth/run/netns" 2>/dev/null; do :; done
    "${podman[@]}" rm -f -a -t 0 >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
    [ -n "$had_cni_bridge" ] || ip link del cni-podman0 2>/dev/null
    [ -n "$had_cni_dir" ] || rm -rf /var/lib/cni
    if [ -z "$had_cni_chains" ] && iptables -S CNI-FORWARD >/dev/null 2>&1; then
        iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
        iptables -F CNI-FORWARD; iptables -X CNI-FORWARD
        iptables -F CNI-ADMIN; iptables -X CNI-ADMIN
    fi
    # Only when left empty (no rule in any chain): then nothing else uses them.
    local t
    for t in filter nat; do
        if [ "$t" = filter ] && [ -n "$had_ip_filter" ]; then continue; fi
        if [ "$t" = nat ] && [ -n "$had_ip_nat" ]; then continue; fi
        if nft list table ip "$t" >/dev/null 2>&1 &&
            ! nft list table ip "$t" | grep -qvE '^\s*(table|chain|type|\}|$)'; then
            nft delete table ip "$t"
        fi
    done
    [ -z "$docker_too" ] || dockerd_stop
    local m
    for m in $(awk -v d="$work/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT

# As installed: a read-only mount, where the runtime's CVE-2019-5736 protection is free.
mount --bind -o ro "$work/bin" "$work/bin"
"${berth[@]}" load -i "$repo/.fixtures/busybox/oci-image.tar" >/dev/null
"${berth[@]}" tag berth-busybox:test "$img"
"${podman[@]}" load -q -i "$repo/.fixtures/busybox/oci-image.tar" >/dev/null
"${podman[@]}" tag berth-busybox:test "$img"
if [ -n "$docker_too" ]; then
    dockerd_start "$work/bin/berth-runtime"
    docker tag "$DOCKERD_IMAGE" "$img"
fi

cat >"$work/rm-all" <<EOF
#!/bin/sh
# Removes every container of each store (hyperfine --prepare of the run -d rows).
case "\$1" in
berth) ids=\$(${berth[*]} ps -aq); [ -z "\$ids" ] || ${berth[*]} rm -f \$ids >/dev/null ;;
podman) ${podman[*]} rm -f -a -t 0 >/dev/null ;;
docker) ids=\$(docker ps -aq); [ -z "\$ids" ] || docker rm -f \$ids >/dev/null ;;
esac
EOF
chmod +x "$work/rm-all"

echo "== versions ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
"${berth[@]}" --version
"$work/bin/berth-runtime" --version | head -1
podman --version
runc --version | head -1
[ -z "$docker_too" ] || docker version --format 'dockerd {{.Server.Version}}'
echo

runs=(
    -n "berth none" "${berth[*]} run --rm --network none $img true"
    -n "berth bridge" "${berth[*]} run --rm $img true"
    -n "podman none" "${podman[*]} --runtime runc run --rm ${ulimits[*]} --network none $img true"
    -n "podman bridge" "${podman[*]} --runtime runc run --rm ${ulimits[*]} $img true"
    -n "podman+berth-runtime none" "${podman[*]} --runtime $work/bin/berth-runtime run --rm ${ulimits[*]} --network none $img true"
)
[ -z "$docker_too" ] || runs+=(-n "docker none" "docker run --rm --network none $img true")
echo "== 1. run --rm $img true"
hyperfine -N --warmup 3 --export-json "$work/run.json" "$@" "${runs[@]}"

detach=(
    --prepare "$work/rm-all berth" -n "berth -d none" "${berth[*]} run -d --network none $img sleep 600"
    --prepare "$work/rm-all berth" -n "berth -d bridge" "${berth[*]} run -d $img sleep 600"
    --prepare "$work/rm-all podman" -n "podman -d none"
    "${podman[*]} --runtime runc run -d ${ulimits[*]} --network none $img sleep 600"
)
[ -z "$docker_too" ] || detach+=(--prepare "$work/rm-all docker" -n "docker -d none"
    "docker run -d --network none $img sleep 600")
echo "== 2. run -d $img sleep 600 (rm -f in --prepare, untimed)"
hyperfine -N --warmup 2 --export-json "$work/detach.json" "$@" "${detach[@]}"
for e in "${engines[@]}"; do "$work/rm-all" "$e"; done

# 3. The process each running container keeps, with $monitors containers up.
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# kB: VmRSS of /proc/PID/status, Pss of smaps_rollup (shared pages split between users).
memory_row() {
    local name=$1; shift
    local pid rss="" pss=""
    for pid in "$@"; do
        rss+="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"$'\n'
        pss+="$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")"$'\n'
    done
    printf '%-32s %5s %10s %10s\n' "$name" "$#" "$(printf '%s' "$rss" | median)" "$(printf '%s' "$pss" | median)"
}
for _ in $(seq "$monitors"); do
    "${berth[@]}" run -d --network none "$img" sleep 600 >/dev/null
    "${podman[@]}" --runtime runc run -d "${ulimits[@]}" --network none "$img" sleep 600 >/dev/null
    [ -z "$docker_too" ] || docker run -d --network none "$img" sleep 600 >/dev/null
done
sleep 1
echo "== 3. the process per running container, $monitors containers up (kB, medians)"
printf '%-32s %5s %10s %10s\n' process count VmRSS Pss
mapfile -t pids < <(jq -r .pid "$work"/berth/run/containers/*/monitor.json)
memory_row "berth monitor" "${pids[@]}"
mapfile -t pids < <("${podman[@]}" ps -q | xargs "${podman[@]}" inspect --format '{{.State.ConmonPid}}')
memory_row "conmon (podman)" "${pids[@]}"
if [ -n "$docker_too" ]; then
    mapfile -t pids < <(dockerd_shims)
    memory_row "containerd-shim-runc-v2 (docker)" "${pids[@]}"
fi
for e in "${engines[@]}"; do "$work/rm-all" "$e"; done

echo
echo "== medians (ms); ratio to podman with the same network"
jq -rs '
  (map(.results[]) | map({key: .command, value: .median}) | from_entries) as $m
  | map(.results[])[]
  | .command as $c
  | ($c | if test(" -d ") then "podman -d none" elif test(" bridge$") then "podman bridge" else "podman none" end) as $p
  | "\($c)\t\(.median * 1000 | . * 10 | round / 10) ms\tx\((.median / $m[$p]) * 100 | round / 100)"' \
    "$work/run.json" "$work/detach.json" | column -t -s $'\t'
