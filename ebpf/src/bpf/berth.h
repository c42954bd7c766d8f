/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by every berth BPF program: which cgroups are watched, and how an
 * event is attributed to one of them.
 *
 * The exporter writes the watch list (`watched_cgroups`); every object declares
 * the same map and user space makes them all share one (libbpf reuse_fd).
 *   flags BERTH_WATCH_CONTAINER: the cgroup is a container; events from it and
 *         from any cgroup below it are keyed by this id.
 *   flags BERTH_WATCH_SUBTREE: a parent of containers (e.g. /berth); events from
 *         a cgroup below it are keyed by their own cgroup id, so a container is
 *         counted from its first instruction, before the exporter discovers it.
 */
#ifndef BERTH_H
#define BERTH_H

#define BERTH_WATCH_CONTAINER 1
#define BERTH_WATCH_SUBTREE 2

/* Bounds: watched cgroups and per-cgroup counter maps. */
#define BERTH_MAX_CGROUPS 4096
/* How many levels above the current cgroup are checked against the watch list. */
#define BERTH_MAX_DEPTH 8

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BERTH_MAX_CGROUPS);
	__type(key, u64);
	__type(value, u32);
} watched_cgroups SEC(".maps");

/* If `ancestor` is watched, store the key to count under in *key and return 1. */
static __always_inline int berth_match(u64 self, u64 ancestor, u64 *key)
{
	u32 *flags;

	if (!ancestor)
		return 0;
	flags = bpf_map_lookup_elem(&watched_cgroups, &ancestor);
	if (!flags)
		return 0;
	*key = (*flags & BERTH_WATCH_CONTAINER) ? ancestor : self;
	return 1;
}

/* The key of the running task's cgroup v2, or 0 when not watched. */
static __always_inline u64 berth_current_key(void)
{
	u64 self = bpf_get_current_cgroup_id();
	u64 key = 0;
	int level;

	if (berth_match(self, self, &key))
		return key;
	/* Shallow to deep, keeping the deepest match; stops below the task's own level
	 * (the helper returns 0 there), so a task in the root cgroup costs one call. */
	for (level = 1; level <= BERTH_MAX_DEPTH; level++) {
		u64 ancestor = bpf_get_current_ancestor_cgroup_id(level);

		if (!ancestor || ancestor == self)
			break;
		berth_match(self, ancestor, &key);
	}
	return key;
}

/* The key of `task`'s cgroup v2 (not the running task's), or 0 when not watched. */
static __always_inline u64 berth_task_key(struct task_struct *task)
{
	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct cgroup *anc;
	u64 self, key = 0;
	int level, i;

	if (!cgrp)
		return 0;
	self = BPF_CORE_READ(cgrp, kn, id);
	if (berth_match(self, self, &key))
		return key;
	level = BPF_CORE_READ(cgrp, level);
	for (i = 1; i <= BERTH_MAX_DEPTH; i++) {
		if (level - i < 1)
			break;
		anc = NULL;
		bpf_core_read(&anc, sizeof(anc), &cgrp->ancestors[level - i]);
		if (anc && berth_match(self, BPF_CORE_READ(anc, kn, id), &key))
			return key;
	}
	return 0;
}

/* Add `n` to a per-CPU u64 counter keyed by `key` in a per-CPU hash map. */
#define BERTH_COUNT(map, keyp, n)                                               \
	do {                                                                   \
		u64 *__v = bpf_map_lookup_elem(map, keyp);                     \
		if (__v) {                                                     \
			*__v += (n);                                           \
		} else {                                                       \
			u64 __init = (n);                                      \
			if (bpf_map_update_elem(map, keyp, &__init, BPF_NOEXIST)) { \
				__v = bpf_map_lookup_elem(map, keyp);          \
				if (__v)                                       \
					*__v += (n);                           \
			}                                                      \
		}                                                              \
	} while (0)

#endif /* BERTH_H */
