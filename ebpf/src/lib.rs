//! berth-ebpf (being built).
