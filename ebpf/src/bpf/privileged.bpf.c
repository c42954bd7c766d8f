// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * privileged_syscall records for containers of other runtimes (berth-runtime's own
 * come from its seccomp filter's audit records, at no cost outside containers). One
 * program, attached by user space to syscalls/sys_enter_<name> for each privileged
 * syscall the policy names, only when the policy opts in: each such tracepoint puts
 * every task of the host on the syscall tracing path (+12-16 ns per syscall for six,
 * measured in the issue). The record cannot say whether the call was denied (the
 * tracepoint runs before seccomp's verdict is known to it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "berth.h"
#define BERTH_RING_BYTES (64 * 1024)
#include "audit.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct sys_enter_ctx {
	u64 common;
	long nr;
	unsigned long args[6];
};

SEC("tracepoint")
int berth_privileged_syscall(struct sys_enter_ctx *ctx)
{
	struct syscall_event *e;
	u64 key = berth_current_key();

	if (!key)
		return 0;
	e = berth_reserve(sizeof(*e), EVENT_PRIVILEGED_SYSCALL, key);
	if (!e)
		return 0;
	e->nr = (u32)ctx->nr;
	e->pad = 0;
	berth_submit(e);
	return 0;
}
