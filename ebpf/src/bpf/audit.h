/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every family that sends audit records (events.h) shares: its ring buffer
 * `audit_events` (sized by the including file through BERTH_RING_BYTES), its
 * `events_lost` per-CPU array (reservation failures by event type), and
 * `berth_events_on`, the bitmask of enabled types (1 << type) that user space sets
 * before the load from the policy: a type that is off costs no reservation, and the
 * verifier removes its code.
 */
#ifndef BERTH_AUDIT_H
#define BERTH_AUDIT_H

#include "events.h"

#ifndef BERTH_RING_BYTES
#error "define BERTH_RING_BYTES (a power of two, at least a page) before audit.h"
#endif

const volatile u32 berth_events_on = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BERTH_RING_BYTES);
} audit_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EVENT_TYPE_COUNT);
	__type(key, u32);
	__type(value, u64);
} events_lost SEC(".maps");

static __always_inline int berth_event_on(u32 type)
{
	return (berth_events_on >> type) & 1;
}

/* Reserves `size` bytes for a record of `type` attributed to `key`, fills the
 * header from the running task, or counts the loss and returns NULL. */
static __always_inline void *berth_reserve(u64 size, u32 type, u64 key)
{
	struct event_header *h = bpf_ringbuf_reserve(&audit_events, size, 0);
	struct task_struct *task;

	if (!h) {
		u64 *lost = bpf_map_lookup_elem(&events_lost, &type);
		if (lost)
			*lost += 1;
		return NULL;
	}
	task = (struct task_struct *)bpf_get_current_task();
	h->timestamp_ns = bpf_ktime_get_ns();
	h->cgroup_id = key;
	h->type = type;
	h->pid = bpf_get_current_pid_tgid() >> 32;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
	return h;
}

/* Submits a reserved record. User space is woken only once a sixteenth of the ring
 * is pending (it polls at least every 50 ms anyway): a storm of records costs the
 * reader one wakeup per batch instead of one per record. */
static __always_inline void berth_submit(void *record)
{
	u64 pending = bpf_ringbuf_query(&audit_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(record, pending >= BERTH_RING_BYTES / 16 ? BPF_RB_FORCE_WAKEUP
								    : BPF_RB_NO_WAKEUP);
}

#endif
