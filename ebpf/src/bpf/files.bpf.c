// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sensitive_open: opens with write intent under configured path prefixes, by tasks of
 * watched cgroups, decided here so that only matches reach user space: the cgroup
 * first (one hash lookup), then the flags, then the path's prefix.
 *
 * Opt-in (policy `sensitive_open`): user space attaches these only then. While
 * attached, they are syscall tracepoints: enabling one puts every task of the host
 * on the syscall tracing path (the issue measured +12-16 ns per syscall of every task
 * for 6 such tracepoints), and every open(2)/openat(2)/openat2(2)/creat(2) of the
 * host runs the program up to the cgroup check. An audit, not a guard: the path is
 * the text the task passed, read before the kernel resolves it, so paths relative to
 * a directory fd, paths through a symlink or not in canonical form (`//etc`,
 * `/./etc`) and text changed by another thread after the read are not matched
 * (metrics/README.md, known gaps).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "berth.h"
#define BERTH_RING_BYTES (256 * 1024)
#include "audit.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define WRITE_INTENT (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)

/* Prefixes: user space fills slots 0..n-1; an empty one ends the list. */
#define BERTH_PREFIXES 16
#define BERTH_PREFIX_MAX 64

struct path_prefix {
	u32 len;
	char bytes[BERTH_PREFIX_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BERTH_PREFIXES);
	__type(key, u32);
	__type(value, struct path_prefix);
} sensitive_prefixes SEC(".maps");

/* Scratch for the path read before deciding (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[BERTH_PATH_MAX]);
} path_scratch SEC(".maps");

struct prefix_ctx {
	const char *path;
	long path_len;
	int matched;
};

static long match_prefix(u32 index, struct prefix_ctx *ctx)
{
	struct path_prefix *p = bpf_map_lookup_elem(&sensitive_prefixes, &index);
	u32 i;

	if (!p || p->len == 0)
		return 1; /* end of the list */
	if (p->len > ctx->path_len - 1)
		return 0;
	for (i = 0; i < BERTH_PREFIX_MAX; i++) {
		if (i >= p->len) {
			ctx->matched = 1;
			return 1;
		}
		if (p->bytes[i] != ctx->path[i & (BERTH_PATH_MAX - 1)])
			return 0;
	}
	ctx->matched = 1;
	return 1;
}

static __always_inline int check_open(const char *user_path, long flags)
{
	struct prefix_ctx ctx = {};
	struct open_event *e;
	u32 zero = 0;
	char *path;
	u64 key;

	key = berth_current_key();
	if (!key)
		return 0;
	if (!(flags & WRITE_INTENT))
		return 0;
	path = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!path)
		return 0;
	ctx.path_len = bpf_probe_read_user_str(path, BERTH_PATH_MAX, user_path);
	if (ctx.path_len <= 1 || path[0] != '/')
		return 0;
	ctx.path = path;
	bpf_loop(BERTH_PREFIXES, match_prefix, &ctx, 0);
	if (!ctx.matched)
		return 0;
	e = berth_reserve(sizeof(*e), EVENT_SENSITIVE_OPEN, key);
	if (!e)
		return 0;
	e->flags = (s32)flags;
	e->pad = 0;
	bpf_probe_read_kernel_str(&e->path, sizeof(e->path), path);
	berth_submit(e);
	return 0;
}

/* The syscalls/sys_enter_* context: common header, syscall nr, then the arguments. */
struct sys_enter_ctx {
	u64 common;
	long nr;
	unsigned long args[6];
};

SEC("tracepoint/syscalls/sys_enter_openat")
int berth_openat(struct sys_enter_ctx *ctx)
{
	return check_open((const char *)ctx->args[1], (long)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_open")
int berth_open(struct sys_enter_ctx *ctx)
{
	return check_open((const char *)ctx->args[0], (long)ctx->args[1]);
}

/* openat2(dirfd, path, struct open_how *how, size): the flags are the first u64 of
 * `how`, in user memory; read only for tasks of watched cgroups. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int berth_openat2(struct sys_enter_ctx *ctx)
{
	u64 flags = 0;

	if (!berth_current_key())
		return 0;
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)ctx->args[2]))
		return 0;
	return check_open((const char *)ctx->args[1], (long)flags);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int berth_creat(struct sys_enter_ctx *ctx)
{
	return check_open((const char *)ctx->args[0], O_CREAT | O_WRONLY | O_TRUNC);
}
