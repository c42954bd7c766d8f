// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Syscalls per watched cgroup and per syscall number, and failed syscalls. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "berth.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct syscall_key {
	u64 cgroup_id;
	u32 nr;
	u32 pad;
};

/* ~ 4096 cgroups x the syscalls they actually use. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct syscall_key);
	__type(value, u64);
} syscall_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BERTH_MAX_CGROUPS);
	__type(key, u64);
	__type(value, u64);
} syscall_errors SEC(".maps");

/*
 * Hot path: one lookup keyed by the task's own cgroup. An entry exists only for
 * watched cgroups (created below after the watch list check, deleted by the exporter
 * when the cgroup goes), so a hit needs no watch list lookup.
 */
SEC("raw_tp/sys_enter")
int BPF_PROG(berth_sys_enter, struct pt_regs *regs, long id)
{
	struct syscall_key key = {};
	u64 *count;

	if (id < 0)
		return 0;
	key.cgroup_id = bpf_get_current_cgroup_id();
	key.nr = (u32)id;
	count = bpf_map_lookup_elem(&syscall_counts, &key);
	if (count) {
		*count += 1;
		return 0;
	}
	key.cgroup_id = berth_current_key();
	if (!key.cgroup_id)
		return 0;
	BERTH_COUNT(&syscall_counts, &key, 1);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(berth_sys_exit, struct pt_regs *regs, long ret)
{
	u64 key, *count;

	/* Errors are -1..-4095; other negative values are valid results (e.g. mmap). */
	if (ret >= 0 || ret < -4095)
		return 0;
	key = bpf_get_current_cgroup_id();
	count = bpf_map_lookup_elem(&syscall_errors, &key);
	if (count) {
		*count += 1;
		return 0;
	}
	key = berth_current_key();
	if (!key)
		return 0;
	BERTH_COUNT(&syscall_errors, &key, 1);
	return 0;
}
