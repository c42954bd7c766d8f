// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process lifecycle per watched cgroup: execs, forks, exits counted; process_exec
 * (with argv) and process_exit (status, duration) records when the policy has them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"
/* Room for ~1,000 exec records (1.3 KiB each) between two reads. */
#define BERTH_RING_BYTES (1024 * 1024)
#include "audit.h"

/* include/linux/sched/signal.h, not in BTF. */
#define SIGNAL_GROUP_EXIT 0x00000004

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct process_counts {
	u64 execs;
	u64 forks;
	u64 exits;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BERTH_MAX_CGROUPS);
	__type(key, u64);
	__type(value, struct process_counts);
} process_counts SEC(".maps");

static __always_inline struct process_counts *counts_for(u64 key)
{
	struct process_counts *c = bpf_map_lookup_elem(&process_counts, &key);

	if (c)
		return c;
	struct process_counts zero = {};
	bpf_map_update_elem(&process_counts, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&process_counts, &key);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(berth_process_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct process_counts *c;
	struct exec_event *e;
	u64 key = berth_current_key();
	unsigned long arg_start, arg_end, len;

	if (!key)
		return 0;
	c = counts_for(key);
	if (c)
		c->execs += 1;
	if (!berth_event_on(EVENT_PROCESS_EXEC))
		return 0;
	e = berth_reserve(sizeof(*e), EVENT_PROCESS_EXEC, key);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	/* The new image's arguments, just copied onto its stack by execve. */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	/* The mask keeps the size provably within the buffer for the verifier. */
	e->argv_truncated = len > BERTH_ARGV_MAX - 1;
	if (len > BERTH_ARGV_MAX - 1)
		len = BERTH_ARGV_MAX - 1;
	len &= BERTH_ARGV_MAX - 1;
	e->argv_len = 0;
	if (len && !bpf_probe_read_user(&e->argv, len, (void *)arg_start))
		e->argv_len = len;
	berth_submit(e);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(berth_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct process_counts *c;
	u64 key;

	/* New threads are not new processes. */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	key = berth_current_key();
	if (!key)
		return 0;
	c = counts_for(key);
	if (c)
		c->forks += 1;
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(berth_process_exit, struct task_struct *task)
{
	struct process_counts *c;
	struct exit_event *e;
	u64 key;

	/* The process ends when its last thread does: do_exit() has already decremented
	 * signal->live (read from the task rather than the tracepoint's group_dead
	 * argument, which older kernels do not pass). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	key = berth_current_key();
	if (!key)
		return 0;
	c = counts_for(key);
	if (c)
		c->exits += 1;
	if (!berth_event_on(EVENT_PROCESS_EXIT))
		return 0;
	e = berth_reserve(sizeof(*e), EVENT_PROCESS_EXIT, key);
	if (!e)
		return 0;
	/* A group exit (exit_group, a fatal signal) leaves its status in the signal
	 * struct; the last thread's own exit_code is the status otherwise. */
	e->exit_code = BPF_CORE_READ(task, signal, flags) & SIGNAL_GROUP_EXIT
			       ? BPF_CORE_READ(task, signal, group_exit_code)
			       : BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	e->duration_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	berth_submit(e);
	return 0;
}
