// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Never loaded: one global of each record type in events.h, so that the skeleton
 * generated from this object carries their layouts as Rust types (libbpf-cargo emits
 * the types of global variables). The programs themselves stay free of globals.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct process_event process_event_layout;
enum process_event_kind process_event_kind_layout;
