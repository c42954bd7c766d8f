// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * network_connect and network_listen records of watched cgroups. Attached to berth's
 * cgroup subtrees only (e.g. /sys/fs/cgroup/unified/berth), so sockets outside
 * containers never run them; they cost nothing per packet: connect4/6 run once per
 * connect(2) (and UDP sendmsg without connect does not run them), the sock_ops
 * program once per TCP state callback. Both always allow the operation.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "berth.h"
#define BERTH_RING_BYTES (256 * 1024)
#include "audit.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10

static __always_inline struct net_event *reserve_net(u32 type, u16 family, u32 protocol)
{
	struct net_event *e;
	u64 key;

	if (!berth_event_on(type))
		return NULL;
	key = berth_current_key();
	if (!key)
		return NULL;
	e = berth_reserve(sizeof(*e), type, key);
	if (!e)
		return NULL;
	e->family = family;
	e->protocol = protocol;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	return e;
}

SEC("cgroup/connect4")
int berth_connect4(struct bpf_sock_addr *ctx)
{
	struct net_event *e = reserve_net(EVENT_NETWORK_CONNECT, AF_INET, ctx->protocol);
	u32 ip;

	if (!e)
		return 1;
	ip = ctx->user_ip4;
	__builtin_memcpy(e->addr, &ip, 4);
	e->port = bpf_ntohs((u16)ctx->user_port);
	berth_submit(e);
	return 1;
}

SEC("cgroup/connect6")
int berth_connect6(struct bpf_sock_addr *ctx)
{
	struct net_event *e = reserve_net(EVENT_NETWORK_CONNECT, AF_INET6, ctx->protocol);
	u32 word;

	if (!e)
		return 1;
	/* Narrow context loads: one u32 at a time, as the verifier requires. */
	word = ctx->user_ip6[0];
	__builtin_memcpy(&e->addr[0], &word, 4);
	word = ctx->user_ip6[1];
	__builtin_memcpy(&e->addr[4], &word, 4);
	word = ctx->user_ip6[2];
	__builtin_memcpy(&e->addr[8], &word, 4);
	word = ctx->user_ip6[3];
	__builtin_memcpy(&e->addr[12], &word, 4);
	e->port = bpf_ntohs((u16)ctx->user_port);
	berth_submit(e);
	return 1;
}

/* listen(2) on a TCP socket: the kernel calls sock_ops with TCP_LISTEN_CB right after
 * the socket enters LISTEN, in the listening task's context. */
SEC("sockops")
int berth_sockops(struct bpf_sock_ops *skops)
{
	struct net_event *e;
	u32 family, word;

	if (skops->op != BPF_SOCK_OPS_TCP_LISTEN_CB)
		return 1;
	family = skops->family;
	if (family != AF_INET && family != AF_INET6)
		return 1;
	e = reserve_net(EVENT_NETWORK_LISTEN, family, 6 /* IPPROTO_TCP */);
	if (!e)
		return 1;
	if (family == AF_INET) {
		word = skops->local_ip4;
		__builtin_memcpy(&e->addr[0], &word, 4);
	} else {
		word = skops->local_ip6[0];
		__builtin_memcpy(&e->addr[0], &word, 4);
		word = skops->local_ip6[1];
		__builtin_memcpy(&e->addr[4], &word, 4);
		word = skops->local_ip6[2];
		__builtin_memcpy(&e->addr[8], &word, 4);
		word = skops->local_ip6[3];
		__builtin_memcpy(&e->addr[12], &word, 4);
	}
	/* local_port is in host byte order (unlike remote_port). */
	e->port = (u16)skops->local_port;
	berth_submit(e);
	return 1;
}
