// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network bytes and packets per watched cgroup, by the cgroup of the socket.
 * Attached (multi) to the root of the cgroup v2 hierarchy; always lets the
 * packet through.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "berth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct net_counts {
	u64 rx_bytes;
	u64 rx_packets;
	u64 tx_bytes;
	u64 tx_packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BERTH_MAX_CGROUPS);
	__type(key, u64);
	__type(value, struct net_counts);
} net_counts SEC(".maps");

static __always_inline u64 skb_key(struct __sk_buff *skb)
{
	u64 self = bpf_skb_cgroup_id(skb);
	u64 key = 0;
	int level;

	if (!self)
		return 0;
	if (berth_match(self, self, &key))
		return key;
	/* As berth_current_key: shallow to deep, the deepest match wins. */
	for (level = 1; level <= BERTH_MAX_DEPTH; level++) {
		u64 ancestor = bpf_skb_ancestor_cgroup_id(skb, level);

		if (!ancestor || ancestor == self)
			break;
		berth_match(self, ancestor, &key);
	}
	return key;
}

static __always_inline struct net_counts *counts_for(u64 key)
{
	struct net_counts *c = bpf_map_lookup_elem(&net_counts, &key);

	if (c)
		return c;
	struct net_counts zero = {};
	bpf_map_update_elem(&net_counts, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&net_counts, &key);
}

SEC("cgroup_skb/ingress")
int berth_net_ingress(struct __sk_buff *skb)
{
	struct net_counts *c;
	u64 key = skb_key(skb);

	if (!key)
		return 1;
	c = counts_for(key);
	if (c) {
		c->rx_bytes += skb->len;
		c->rx_packets += 1;
	}
	return 1;
}

SEC("cgroup_skb/egress")
int berth_net_egress(struct __sk_buff *skb)
{
	struct net_counts *c;
	u64 key = skb_key(skb);

	if (!key)
		return 1;
	c = counts_for(key);
	if (c) {
		c->tx_bytes += skb->len;
		c->tx_packets += 1;
	}
	return 1;
}
