/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records BPF programs send to user space. The Rust side never restates these
 * layouts: layouts.bpf.c makes libbpf-cargo generate them as `#[repr(C)]` Rust types
 * (`skeletons::layouts::types`), so a change here that the decoder does not follow
 * fails the build.
 *
 * Every record starts with a `struct event_header`; its `type` says which record
 * follows. Each family has its own ring buffer and its own `events_lost` per-CPU
 * array (indexed by type): a record that finds its ring buffer full is counted
 * there, never dropped silently.
 */
#ifndef BERTH_EVENTS_H
#define BERTH_EVENTS_H

enum event_type {
	EVENT_PROCESS_EXEC = 1,
	EVENT_PROCESS_EXIT = 2,
	EVENT_NETWORK_CONNECT = 3,
	EVENT_NETWORK_LISTEN = 4,
	EVENT_SENSITIVE_OPEN = 5,
	EVENT_PRIVILEGED_SYSCALL = 6,
	/* One past the last: the size of the events_lost arrays. */
	EVENT_TYPE_COUNT = 7,
};

/* The argv bytes kept per exec (NUL-separated, as in mm->arg_start..arg_end). */
#define BERTH_ARGV_MAX 1024
#define BERTH_PATH_MAX 256

struct event_header {
	u64 timestamp_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	u64 cgroup_id;	  /* the watch list key (the container's cgroup v2 id) */
	u32 type;	  /* enum event_type */
	u32 pid;	  /* tgid, initial pid namespace */
	u32 ppid;	  /* tgid of the real parent */
	u32 uid;	  /* real uid, initial user namespace */
	char comm[16];
};

/* process_exec: sched_process_exec, after the new image is in place. */
struct exec_event {
	struct event_header h;
	u32 argv_len;	    /* bytes in argv (<= BERTH_ARGV_MAX) */
	u32 argv_truncated; /* 1 when the arguments were longer */
	char filename[BERTH_PATH_MAX];
	char argv[BERTH_ARGV_MAX];
};

/* process_exit: sched_process_exit of a process's last thread. */
struct exit_event {
	struct event_header h;
	s32 exit_code;	  /* wait status: code << 8 | signal */
	u32 pad;
	u64 duration_ns; /* since the process started */
};

/* network_connect (connect4/6) and network_listen (sock_ops TCP listen). */
struct net_event {
	struct event_header h;
	u16 family; /* AF_INET (2) or AF_INET6 (10) */
	u16 port;   /* host byte order */
	u32 protocol; /* IPPROTO_TCP, IPPROTO_UDP, ... */
	u8 addr[16]; /* network byte order; the first 4 bytes for AF_INET */
};

/* sensitive_open: an open with write intent under a configured path prefix. */
struct open_event {
	struct event_header h;
	s32 flags; /* open(2) flags */
	u32 pad;
	char path[BERTH_PATH_MAX];
};

/* privileged_syscall from the opt-in per-syscall tracepoints (other runtimes). */
struct syscall_event {
	struct event_header h;
	u32 nr; /* x86_64 syscall number */
	u32 pad;
};

#endif
