//! Errors of loading, attaching and reading the BPF programs.

use std::path::PathBuf;

/// What went wrong, naming the operation and the object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("opening BPF object {family}: {source}")]
    Open {
        family: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("sharing the watch list map with BPF object {family}: {source}")]
    ShareWatchlist {
        family: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("loading BPF object {family} into the kernel: {source}")]
    Load {
        family: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("attaching BPF program {program}: {source}")]
    Attach {
        program: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("attaching the privileged_syscall program to syscalls/sys_enter_{syscall}: {source}")]
    AttachSyscall {
        syscall: String,
        source: libbpf_rs::Error,
    },
    #[error(
        "{what} needs tracefs (syscall tracepoints): mount it with `mount -t tracefs tracefs /sys/kernel/tracing`"
    )]
    NoTracefs { what: &'static str },
    #[error("{operation} BPF map {map}: {source}")]
    Map {
        operation: &'static str,
        map: &'static str,
        source: libbpf_rs::Error,
    },
    #[error("BPF map {map} holds a value of {len} bytes, expected {expected}")]
    MapLayout {
        map: &'static str,
        len: usize,
        expected: usize,
    },
    #[error("{operation} {path}: {source}")]
    Cgroup {
        operation: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}
