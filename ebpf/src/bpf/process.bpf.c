// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process lifecycle per watched cgroup: execs, forks, exits, and an event stream. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"
#include "events.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} process_events SEC(".maps");

/* Events that did not fit in the ring buffer (index 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} events_lost SEC(".maps");

static __always_inline struct process_counts *counts_for(u64 key)
{
	struct process_counts *c = bpf_map_lookup_elem(&process_counts, &key);

	if (c)
		return c;
	struct process_counts zero = {};
	bpf_map_update_elem(&process_counts, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&process_counts, &key);
}

static __always_inline struct process_event *reserve_event(u64 key, u32 kind,
							   struct task_struct *task)
{
	struct process_event *e = bpf_ringbuf_reserve(&process_events, sizeof(*e), 0);

	if (!e) {
		u32 zero = 0;
		u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
		if (lost)
			*lost += 1;
		return NULL;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->cgroup_id = key;
	e->kind = kind;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (u32)bpf_get_current_uid_gid();
	e->exit_code = 0;
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	e->filename[0] = 0;
	return e;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(berth_process_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct process_counts *c;
	struct process_event *e;
	u64 key = berth_current_key();

	if (!key)
		return 0;
	c = counts_for(key);
	if (c)
		c->execs += 1;
	e = reserve_event(key, PROCESS_EVENT_EXEC, task);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(berth_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct process_counts *c;
	struct process_event *e;
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
	e = reserve_event(key, PROCESS_EVENT_FORK, child);
	if (!e)
		return 0;
	e->ppid = BPF_CORE_READ(parent, tgid);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(berth_process_exit, struct task_struct *task)
{
	struct process_counts *c;
	struct process_event *e;
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
	e = reserve_event(key, PROCESS_EVENT_EXIT, task);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
