// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Signals delivered per watched cgroup (of the receiving task) and signal number. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/trace/events/signal.h: TRACE_SIGNAL_DELIVERED */
#define BERTH_SIGNAL_DELIVERED 0

struct signal_key {
	u64 cgroup_id;
	u32 signal;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct signal_key);
	__type(value, u64);
} signals_delivered SEC(".maps");

SEC("raw_tp/signal_generate")
int BPF_PROG(berth_signal_generate, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int type, int result)
{
	struct signal_key key = {};

	if (result != BERTH_SIGNAL_DELIVERED || sig <= 0 || sig > 64)
		return 0;
	key.cgroup_id = berth_task_key(task);
	if (!key.cgroup_id)
		return 0;
	key.signal = (u32)sig;
	BERTH_COUNT(&signals_delivered, &key, 1);
	return 0;
}
