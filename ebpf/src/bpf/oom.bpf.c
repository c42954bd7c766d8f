// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* OOM kills per watched cgroup, by the victim's cgroup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BERTH_MAX_CGROUPS);
	__type(key, u64);
	__type(value, u64);
} oom_kills SEC(".maps");

SEC("raw_tp/mark_victim")
int BPF_PROG(berth_oom_mark_victim, struct task_struct *task, uid_t uid)
{
	u64 key = berth_task_key(task);

	if (!key)
		return 0;
	BERTH_COUNT(&oom_kills, &key, 1);
	return 0;
}
