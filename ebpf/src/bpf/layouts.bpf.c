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

struct event_header event_header_layout;
struct exec_event exec_event_layout;
struct exit_event exit_event_layout;
struct net_event net_event_layout;
struct open_event open_event_layout;
struct syscall_event syscall_event_layout;
enum event_type event_type_layout;
