#!/usr/bin/env bash
# berth-cni vs the reference CNI plugins (bridge + host-local from Debian's
# containernetworking-plugins), same config, same machine, one run.
#
#   bench/netplug/bench.sh [path/to/berth-cni]      (as root)
#
# 1. ADD+DEL cycles of one container, for each plugin, with and without
#    ipMasq: hyperfine medians and the ratio berth / reference.
# 2. ADD latency of the 1st container vs the 250th on one bridge.
#
# Everything runs between network namespaces made here; all of them, the
# bridges, the nftables/iptables state and the lease dirs are removed on exit,
# and ip_forward is restored.
set -euo pipefail

[[ $(id -u) == 0 ]] || { echo "bench.sh: needs root" >&2; exit 1; }
for tool in hyperfine jq ip nft; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool missing" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
berth=${1:-${CARGO_TARGET_DIR:-$root/target}/release/berth-cni}
ref_dir=${REF_CNI_DIR:-/usr/lib/cni}
runs=${RUNS:-40}
[[ -x $berth ]] || { echo "bench.sh: build first: cargo build --release -p berth-netplug ($berth)" >&2; exit 1; }
[[ -x $ref_dir/bridge && -x $ref_dir/host-local ]] || { echo "bench.sh: reference plugins missing in $ref_dir (apt-get install containernetworking-plugins)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
# The reference's ipMasq goes through iptables(-nft), which creates "ip nat".
had_ip_nat=false
nft list table ip nat >/dev/null 2>&1 && had_ip_nat=true
tag=$$
netnses=()
cleanup() {
    set +e
    for ns in "${netnses[@]}"; do ip netns del "$ns" 2>/dev/null; done
    for br in bbb$tag bbr$tag bfb$tag bfr$tag; do ip link del "$br" 2>/dev/null; done
    for net in bbench$tag bfirst$tag; do
        nft delete table inet "berth_$net" 2>/dev/null
    done
    # The reference's DEL removed its per-container chains; drop the empty
    # nat table iptables made if it was not there before.
    $had_ip_nat || nft delete table ip nat 2>/dev/null
    echo "$fwd" > /proc/sys/net/ipv4/ip_forward
    rm -rf "$work"
}
trap cleanup EXIT

mkns() { ip netns add "$1"; netnses+=("$1"); }

# conf NAME TYPE BRIDGE SUBNET MASQ -> JSON on stdout; same shape for both.
conf() {
    local ipam_type=host-local
    [[ $2 == berth-cni ]] && ipam_type=berth-ipam
    jq -n --arg name "$1" --arg type "$2" --arg br "$3" --arg subnet "$4" \
        --argjson masq "$5" --arg data "$work/leases-$1-$2" --arg ipam "$ipam_type" '{
        cniVersion: "1.0.0", name: $name, type: $type, bridge: $br,
        isGateway: true, ipMasq: $masq,
        ipam: {type: $ipam, ranges: [[{subnet: $subnet}]], dataDir: $data}}'
}

# cycle_cmd PLUGIN CONF NETNS ID -> a shell command doing ADD then DEL
cycle_cmd() {
    local env="CNI_CONTAINERID=$4 CNI_NETNS=/var/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=$ref_dir"
    echo "CNI_COMMAND=ADD $env $1 < $2 > /dev/null && CNI_COMMAND=DEL $env $1 < $2 > /dev/null"
}

add_cmd() {
    echo "CNI_COMMAND=ADD CNI_CONTAINERID=$4 CNI_NETNS=/var/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=$ref_dir $1 < $2 > /dev/null"
}
del_cmd() {
    echo "CNI_COMMAND=DEL CNI_CONTAINERID=$4 CNI_NETNS=/var/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=$ref_dir $1 < $2 > /dev/null"
}

median() { jq -r '.results[0].median' "$1"; }
# CPU time of the timed command (means): user space is the plugin's own
# work, system is mostly the kernel building links, addresses and routes.
cpu() { jq -r '"\(.results[0].user * 1000 | . * 100 | round / 100)/\(.results[0].system * 1000 | . * 100 | round / 100)"' "$1"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f ms", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

mkns bnb$tag
echo "== ADD+DEL cycle, $runs runs each (median) =="
printf '%-10s %-12s %-12s %s\n' ipMasq berth-cni reference ratio
for masq in false true; do
    conf bbench$tag berth-cni bbb$tag 10.201.0.0/24 $masq > "$work/berth.json"
    conf bbench$tag bridge bbr$tag 10.202.0.0/24 $masq > "$work/ref.json"
    hyperfine --warmup 3 --runs "$runs" --export-json "$work/b.json" \
        "$(cycle_cmd "$berth" "$work/berth.json" bnb$tag cb)" >/dev/null
    hyperfine --warmup 3 --runs "$runs" --export-json "$work/r.json" \
        "$(cycle_cmd "$ref_dir/bridge" "$work/ref.json" bnb$tag cr)" >/dev/null
    b=$(median "$work/b.json"); r=$(median "$work/r.json")
    printf '%-10s %-12s %-12s %s\n' $masq "$(ms "$b")" "$(ms "$r")" "$(ratio "$b" "$r")"
done

echo
echo "== ADD latency, 1st vs 250th container on one bridge ($runs runs each, median) =="
printf '%-10s %-12s %-12s %-7s %s\n' plugin 1st 250th ratio "CPU ms user/sys: 1st, 250th"
for plugin in berth-cni bridge; do
    bin=$berth br=bfb$tag
    [[ $plugin == bridge ]] && bin=$ref_dir/bridge br=bfr$tag
    subnet=10.203.0.0/16
    [[ $plugin == bridge ]] && subnet=10.204.0.0/16
    conf bfirst$tag $plugin $br $subnet false > "$work/first.json"
    mkns bf$tag-$plugin-0
    # 1st: an empty network (the bridge exists after the warmup), DEL between
    # runs; the pause lets the kernel finish that DEL (RCU) before the timed
    # ADD, for both plugins alike.
    hyperfine --warmup 2 --runs "$runs" --export-json "$work/f1.json" \
        --prepare "$(del_cmd "$bin" "$work/first.json" bf$tag-$plugin-0 first); sleep 0.05" \
        "$(add_cmd "$bin" "$work/first.json" bf$tag-$plugin-0 first)" >/dev/null
    for i in $(seq 2 249); do
        mkns bf$tag-$plugin-$i
        sh -c "$(add_cmd "$bin" "$work/first.json" bf$tag-$plugin-$i c$i)"
    done
    mkns bf$tag-$plugin-250
    hyperfine --warmup 2 --runs "$runs" --export-json "$work/f250.json" \
        --prepare "$(del_cmd "$bin" "$work/first.json" bf$tag-$plugin-250 c250); sleep 0.05" \
        "$(add_cmd "$bin" "$work/first.json" bf$tag-$plugin-250 c250)" >/dev/null
    f1=$(median "$work/f1.json"); f250=$(median "$work/f250.json")
    printf '%-10s %-12s %-12s %-7s %s, %s\n' $plugin "$(ms "$f1")" "$(ms "$f250")" "$(ratio "$f250" "$f1")" \
        "$(cpu "$work/f1.json")" "$(cpu "$work/f250.json")"
    for i in first $(seq 2 250); do
        ns=bf$tag-$plugin-$i id=c$i
        [[ $i == first ]] && ns=bf$tag-$plugin-0 id=first
        sh -c "$(del_cmd "$bin" "$work/first.json" "$ns" "$id")" || true
    done
done
