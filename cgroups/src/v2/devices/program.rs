//! Device rules to eBPF instructions.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where `access_type = (access << 16) | type`. It returns 1 to allow, 0 to deny.
//! Layout: load type/access/major/minor into r2..r5, then one block per exception of the
//! reduced rule list (`device_rules`), then the default verdict.

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::CgroupError;
use crate::device_rules::{Access, DevType, DeviceMatch, DeviceRules};

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcode parts from linux/bpf.h and linux/bpf_common.h.
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_JMP32: u8 = 0x06;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
const BPF_JEQ: u8 = 0x10;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

// From linux/bpf.h: enum bpf_devcg_dev_type / BPF_DEVCG_ACC_*.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

// Registers: r1 = ctx (then scratch), r2 = type, r3 = access, r4 = major, r5 = minor.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}
fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
    insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
}
fn and32_imm(dst: u8, imm: i32) -> Insn {
    insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
}
fn rsh32_imm(dst: u8, imm: i32) -> Insn {
    insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
}
fn mov32_reg(dst: u8, src: u8) -> Insn {
    insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
}
fn mov64_imm(dst: u8, imm: i32) -> Insn {
    insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
}
fn jne32_imm(dst: u8, imm: i32, off: i16) -> Insn {
    insn(BPF_JMP32 | BPF_JNE | BPF_K, dst, 0, off, imm)
}
fn jeq32_imm(dst: u8, imm: i32, off: i16) -> Insn {
    insn(BPF_JMP32 | BPF_JEQ | BPF_K, dst, 0, off, imm)
}
fn jne32_reg(dst: u8, src: u8, off: i16) -> Insn {
    insn(BPF_JMP32 | BPF_JNE | BPF_X, dst, src, off, 0)
}
fn exit() -> Insn {
    insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
}

/// One exception of the reduced rule list, with the verdict it gives when it matches.
#[derive(Debug, Clone, Copy)]
struct Rule {
    allow: bool,
    typ: i32,
    major: Option<u32>,
    minor: Option<u32>,
    access: i32,
}

impl Rule {
    fn new(allow: bool, dev: &DeviceMatch, access: Access) -> Self {
        let bit = |a: Access, b: i32| if access.contains(a) { b } else { 0 };
        Self {
            allow,
            typ: match dev.typ {
                DevType::Block => DEV_BLOCK,
                DevType::Char => DEV_CHAR,
            },
            major: dev.major,
            minor: dev.minor,
            access: bit(Access::READ, ACC_READ)
                | bit(Access::WRITE, ACC_WRITE)
                | bit(Access::MKNOD, ACC_MKNOD),
        }
    }

    /// The block: tests that jump past it when the request does not match, then the verdict.
    fn block(&self) -> Vec<Insn> {
        // Jump offsets are filled in once the block length is known.
        let mut tests: Vec<Insn> = Vec::new();
        tests.push(jne32_imm(R2, self.typ, 0));
        if self.access != ACC_ALL {
            tests.push(mov32_reg(R1, R3));
            tests.push(and32_imm(R1, self.access));
            if self.allow {
                // Allow only when every requested access is allowed: (req & allowed) == req.
                tests.push(jne32_reg(R1, R3, 0));
            } else {
                // Deny when any requested access is denied: (req & denied) != 0.
                tests.push(jeq32_imm(R1, 0, 0));
            }
        }
        if let Some(m) = self.major {
            tests.push(jne32_imm(R4, m as i32, 0));
        }
        if let Some(m) = self.minor {
            tests.push(jne32_imm(R5, m as i32, 0));
        }
        let len = tests.len() + 2;
        for (i, t) in tests.iter_mut().enumerate() {
            if t.code & 0x07 == BPF_JMP32 {
                // Skip the rest of the block: the instructions after this one.
                t.off = (len - i - 1) as i16;
            }
        }
        tests.push(mov64_imm(R0, i32::from(self.allow)));
        tests.push(exit());
        tests
    }
}

/// The program for `rules`, reduced first as the v1 controller would hold them, so both
/// hierarchies give the same verdicts: the exceptions (which all give the same verdict, so
/// their order does not matter), then the default.
pub(super) fn compile(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>, CgroupError> {
    let state = DeviceRules::from_spec(rules)?;
    let mut insns = vec![
        load_u32(R2, R1, 0),
        and32_imm(R2, 0xffff),
        load_u32(R3, R1, 0),
        rsh32_imm(R3, 16),
        load_u32(R4, R1, 4),
        load_u32(R5, R1, 8),
    ];
    for (dev, access) in state.exceptions.iter() {
        insns.extend(Rule::new(!state.default_allow, dev, access).block());
    }
    insns.push(mov64_imm(R0, i32::from(state.default_allow)));
    insns.push(exit());
    Ok(insns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    /// Runs the program on a request, interpreting just the instructions `compile` emits.
    fn run(insns: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u32 {
        let ctx = [(access << 16) | typ, major, minor];
        let mut r = [0u32; 6];
        let mut pc = 0usize;
        loop {
            let i = insns[pc];
            let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
            pc += 1;
            match i.code {
                0x61 => r[dst] = ctx[(i.off / 4) as usize],
                0x54 => r[dst] &= i.imm as u32,
                0x74 => r[dst] >>= i.imm as u32,
                0xbc => r[dst] = r[src],
                0xb7 => r[dst] = i.imm as u32,
                0x56 if r[dst] != i.imm as u32 => pc += i.off as usize,
                0x16 if r[dst] == i.imm as u32 => pc += i.off as usize,
                0x5e if r[dst] != r[src] => pc += i.off as usize,
                0x56 | 0x16 | 0x5e => {}
                0x95 => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    const CHAR: u32 = 2;
    const RW: u32 = 2 | 4;

    #[test]
    fn deny_all_then_allow_null() {
        let p = compile(&rules(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#,
        ))
        .unwrap_or_default();
        assert_eq!(run(&p, CHAR, RW, 1, 3), 1, "/dev/null allowed");
        assert_eq!(run(&p, CHAR, 1, 1, 3), 0, "mknod not allowed");
        assert_eq!(run(&p, CHAR, RW, 1, 5), 0, "/dev/zero denied");
        assert_eq!(run(&p, 1, RW, 1, 3), 0, "block 1:3 denied");
    }

    #[test]
    fn deny_exceptions_after_allow_all_deny_any_overlapping_access() {
        let p = compile(&rules(
            r#"[{"allow":true,"access":"rwm"},
                {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        ))
        .unwrap_or_default();
        assert_eq!(run(&p, CHAR, 2, 1, 3), 1, "read of 1:3 still allowed");
        assert_eq!(run(&p, CHAR, RW, 1, 3), 0, "write of 1:3 denied");
        assert_eq!(run(&p, CHAR, RW, 1, 7), 1, "other minors allowed");
    }

    #[test]
    fn no_rules_deny_everything() {
        let p = compile(&[]).unwrap_or_default();
        assert_eq!(run(&p, CHAR, RW, 1, 3), 0);
        assert_eq!(run(&p, 1, 1, 8, 0), 0);
    }

    #[test]
    fn wildcard_exceptions_match_any_number() {
        let p = compile(&rules(
            r#"[{"allow":true,"type":"c","major":136,"access":"rwm"},
                {"allow":true,"type":"b","access":"m"}]"#,
        ))
        .unwrap_or_default();
        assert_eq!(run(&p, CHAR, RW, 136, 4), 1, "a pty");
        assert_eq!(run(&p, 1, 1, 8, 0), 1, "mknod of any block device");
        assert_eq!(run(&p, 1, RW, 8, 0), 0, "opening it");
    }

    #[test]
    fn allow_all_after_deny_all_allows() {
        let p = compile(&rules(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"access":"rwm"}]"#,
        ))
        .unwrap_or_default();
        assert_eq!(p.len(), 8, "only the prologue and the default");
        assert_eq!(run(&p, CHAR, RW, 10, 200), 1);
    }

    #[test]
    fn refuses_fifo_rules() {
        assert!(compile(&rules(r#"[{"allow":true,"type":"p","access":"rw"}]"#)).is_err());
    }
}
