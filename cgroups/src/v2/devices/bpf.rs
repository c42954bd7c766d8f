//! The few bpf(2) commands the device filter needs, through libc.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::program::Insn;
use crate::CgroupError;

// From linux/bpf.h.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr` for BPF_PROG_LOAD, up to `expected_attach_type`.
#[repr(C, align(8))]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

// Every struct below spells out its tail: implicit padding is not guaranteed to be zero,
// and the kernel reads the bytes of later fields (relative_fd, ...) from it.

/// `union bpf_attr` for BPF_PROG_ATTACH / BPF_PROG_DETACH, up to `relative_fd`.
#[repr(C, align(8))]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    relative_fd: u32,
}

/// `union bpf_attr` for BPF_PROG_QUERY.
#[repr(C, align(8))]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    padding: u32,
}

/// `union bpf_attr` for BPF_PROG_GET_FD_BY_ID.
#[repr(C, align(8))]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
    token_fd: u32,
}

/// bpf(cmd, attr, sizeof attr).
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, properly aligned `#[repr(C)]` bpf_attr prefix of the size
    // passed; the kernel reads (and for QUERY writes) only within that size, and any
    // pointers inside it point to buffers that outlive this call (ensured by the callers).
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// An fd from a bpf(2) call that returns one.
fn owned_fd(r: libc::c_long) -> OwnedFd {
    // SAFETY: a successful BPF_PROG_LOAD / GET_FD_BY_ID returns a new fd that nothing else
    // owns; OwnedFd takes sole ownership and closes it on drop.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

pub(super) fn open_cgroup(dir: &Path) -> Result<File, CgroupError> {
    File::open(dir).map_err(|e| CgroupError::io("opening cgroup", dir, e))
}

pub(super) fn load_device_program(insns: &[Insn], dir: &Path) -> Result<OwnedFd, CgroupError> {
    let license = CString::from(c"Apache-2.0");
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"berth_devcg\0");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        prog_name: name,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned_fd(fd)),
        Err(first) => {
            // Load again with the verifier log on, to say why.
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let result = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]).trim().to_owned();
            match result {
                Ok(fd) => Ok(owned_fd(fd)),
                Err(_) => Err(CgroupError::Bpf {
                    op: "loading the device filter program",
                    path: dir.to_path_buf(),
                    cause: first,
                    log: if text.is_empty() {
                        String::new()
                    } else {
                        format!("\n{text}")
                    },
                }),
            }
        }
    }
}

pub(super) fn attach_device_program(
    cgroup: &File,
    prog: &OwnedFd,
    dir: &Path,
) -> Result<(), CgroupError> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map(drop)
        .map_err(|cause| CgroupError::Bpf {
            op: "attaching the device filter program",
            path: dir.to_path_buf(),
            cause,
            log: String::new(),
        })
}

pub(super) fn query_device_programs(cgroup: &File, dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut attr).map_err(|cause| CgroupError::Bpf {
        op: "querying device filter programs",
        path: dir.to_path_buf(),
        cause,
        log: String::new(),
    })?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

pub(super) fn detach_device_program_by_id(
    cgroup: &File,
    id: u32,
    dir: &Path,
) -> Result<(), CgroupError> {
    let err = |op, cause| CgroupError::Bpf {
        op,
        path: dir.to_path_buf(),
        cause,
        log: String::new(),
    };
    let mut get = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    let prog = match bpf(BPF_PROG_GET_FD_BY_ID, &mut get) {
        Ok(fd) => owned_fd(fd),
        // Already gone: nothing to detach.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(err("opening an old device filter program", e)),
    };
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    match bpf(BPF_PROG_DETACH, &mut attr) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(err("detaching an old device filter program", e)),
    }
}
