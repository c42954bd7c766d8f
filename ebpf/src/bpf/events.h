/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records BPF programs send to user space. The Rust side never restates these
 * layouts: layouts.bpf.c makes libbpf-cargo generate them as `#[repr(C)]` Rust types
 * (`skeletons::layouts::types`), so a change here that the decoder does not follow
 * fails the build.
 */
#ifndef BERTH_EVENTS_H
#define BERTH_EVENTS_H

enum process_event_kind {
	PROCESS_EVENT_EXEC = 1,
	PROCESS_EVENT_FORK = 2,
	PROCESS_EVENT_EXIT = 3,
};

/* One exec, fork or exit in a watched cgroup (ring buffer `process_events`). */
struct process_event {
	u64 timestamp_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	u64 cgroup_id;
	u32 kind; /* enum process_event_kind */
	u32 pid;  /* tgid of the process */
	u32 ppid; /* tgid of the parent (fork: the forking process) */
	u32 uid;
	s32 exit_code;
	u32 pad;
	char comm[16];
	char filename[256]; /* exec only */
};

#endif
