// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor of bench/metrics/syscalls.sh: empty programs on the attach points berth's
 * syscall counting uses (tp_btf on sys_enter and sys_exit). Whatever they cost is the
 * cost of being attached there at all. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sys_enter")
int empty_sys_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int empty_sys_exit(void *ctx)
{
	return 0;
}
