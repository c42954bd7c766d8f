// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Syscalls by number, and failed syscalls, of the cgroups that opted in.
 *
 * Opt-in only: user space attaches these programs while at least one cgroup has a
 * slot in `syscall_slots` and detaches them when none has, so while nobody opted in
 * no syscall of the host pays anything. While attached, every syscall of the host
 * runs the program: the hot path is one direct read of the task's cgroup id, one
 * lookup in a small hash (cgroup id -> slot), one per-CPU array lookup, an increment.
 * No watch-list walk of ancestors: only tasks in the opted-in cgroup itself count
 * (runtimes put a container's processes there).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Syscall numbers counted: x86_64's go up to ~470; larger ones (x32) are ignored. */
#define BERTH_SYSCALL_NR 512

/* One slot's counters. 4 KiB per slot and CPU: user space sizes both maps at load
 * (max_entries = slots) to stay well under the memlock limit. */
struct syscall_slot_counts {
	u64 by_nr[BERTH_SYSCALL_NR];
	u64 errors;
};

/* cgroup v2 id -> slot in syscall_counts; written by user space only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u64);
	__type(value, u32);
} syscall_slots SEC(".maps");

/* Indexed by slot; user space zeroes a slot before giving it to a cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct syscall_slot_counts);
} syscall_counts SEC(".maps");

/* The counters of the running task's cgroup, or NULL when it has no slot. */
static __always_inline struct syscall_slot_counts *current_counts(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* A BTF pointer walk (no helper call): non-sleepable tp_btf runs under RCU. */
	u64 cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	u32 *slot = bpf_map_lookup_elem(&syscall_slots, &cgroup_id);

	if (!slot)
		return NULL;
	return bpf_map_lookup_elem(&syscall_counts, slot);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(berth_sys_enter, struct pt_regs *regs, long id)
{
	struct syscall_slot_counts *counts;
	u32 nr = (u32)id;

	if (id < 0 || nr >= BERTH_SYSCALL_NR)
		return 0;
	counts = current_counts();
	if (counts)
		counts->by_nr[nr & (BERTH_SYSCALL_NR - 1)] += 1;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(berth_sys_exit, struct pt_regs *regs, long ret)
{
	struct syscall_slot_counts *counts;

	/* Errors are -1..-4095; other negative values are valid results (e.g. mmap). */
	if (ret >= 0 || ret < -4095)
		return 0;
	counts = current_counts();
	if (counts)
		counts->errors += 1;
	return 0;
}
