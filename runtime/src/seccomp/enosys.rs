//! ENOSYS for syscalls newer than the profile (what runc's "enosys stub" does).
//!
//! A deny-by-default profile answers every syscall it does not list with its default
//! action, usually EPERM. For a syscall the profile's author could not know (newer than
//! every syscall it names), EPERM is the wrong answer: libc and programs probe new
//! syscalls and fall back only on ENOSYS ("not implemented"), so an EPERM breaks them
//! (glibc and `faccessat2`, `clone3`, ...). This prepends a short BPF prologue that, per
//! architecture, returns ENOSYS for syscall numbers above the highest number the profile
//! mentions. Everything else goes to the libseccomp-built filter unchanged, so nothing
//! the profile denies becomes allowed.

use libseccomp::{ScmpArch, ScmpSyscall};

/// `struct seccomp_data` offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// x32 syscalls run under AUDIT_ARCH_X86_64 with this bit set in the number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// The highest syscall numbers the profile names for one audit architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limit {
    audit_arch: u32,
    max: u32,
    /// For AUDIT_ARCH_X86_64 when x32 is in the filter: the highest x32 number.
    max_x32: Option<u32>,
}

/// The prologue for a filter over `arches` naming `names`, or an empty Vec when no
/// architecture has a known limit.
pub(super) fn prologue(arches: &[ScmpArch], names: &[&str]) -> Vec<libc::sock_filter> {
    let limits = limits(arches, names);
    assemble(&limits)
}

fn highest(arch: ScmpArch, names: &[&str]) -> Option<u32> {
    names
        .iter()
        .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
        .filter_map(|s| u32::try_from(s.as_raw_syscall()).ok())
        .max()
}

fn limits(arches: &[ScmpArch], names: &[&str]) -> Vec<Limit> {
    let mut out: Vec<Limit> = Vec::new();
    let x32_max = arches
        .contains(&ScmpArch::X32)
        .then(|| highest(ScmpArch::X32, names))
        .flatten();
    for arch in arches {
        if *arch == ScmpArch::X32 {
            continue; // folded into the x86_64 entry
        }
        let Some(audit_arch) = audit_arch(*arch) else {
            continue;
        };
        let Some(max) = highest(*arch, names) else {
            continue;
        };
        if out.iter().any(|l| l.audit_arch == audit_arch) {
            continue;
        }
        out.push(Limit {
            audit_arch,
            max,
            max_x32: (audit_arch == AUDIT_ARCH_X86_64)
                .then_some(x32_max)
                .flatten(),
        });
    }
    out
}

/// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch` (libseccomp's arch
/// tokens are those values, except x32, which shares x86_64's).
fn audit_arch(arch: ScmpArch) -> Option<u32> {
    use oci_spec::runtime::Arch as A;
    let oci = match arch {
        ScmpArch::Native => return audit_arch(ScmpArch::native()),
        ScmpArch::X86 => A::ScmpArchX86,
        ScmpArch::X8664 => A::ScmpArchX86_64,
        ScmpArch::X32 => return None,
        ScmpArch::Arm => A::ScmpArchArm,
        ScmpArch::Aarch64 => A::ScmpArchAarch64,
        ScmpArch::Loongarch64 => A::ScmpArchLoongarch64,
        ScmpArch::M68k => A::ScmpArchM68k,
        ScmpArch::Mips => A::ScmpArchMips,
        ScmpArch::Mips64 => A::ScmpArchMips64,
        ScmpArch::Mips64N32 => A::ScmpArchMips64n32,
        ScmpArch::Mipsel => A::ScmpArchMipsel,
        ScmpArch::Mipsel64 => A::ScmpArchMipsel64,
        ScmpArch::Mipsel64N32 => A::ScmpArchMipsel64n32,
        ScmpArch::Ppc => A::ScmpArchPpc,
        ScmpArch::Ppc64 => A::ScmpArchPpc64,
        ScmpArch::Ppc64Le => A::ScmpArchPpc64le,
        ScmpArch::S390 => A::ScmpArchS390,
        ScmpArch::S390X => A::ScmpArchS390x,
        ScmpArch::Parisc => A::ScmpArchParisc,
        ScmpArch::Parisc64 => A::ScmpArchParisc64,
        ScmpArch::Riscv64 => A::ScmpArchRiscv64,
        ScmpArch::Sheb => A::ScmpArchSheb,
        ScmpArch::Sh => A::ScmpArchSh,
        // ScmpArch is non_exhaustive: an architecture added later gets no prologue.
        _ => return None,
    };
    Some(oci as u32)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Next,
    Enosys,
    Main,
    Block(usize),
    X32(usize),
}

struct Op {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
}

fn op(code: u16, k: u32, jt: Target, jf: Target) -> Op {
    Op { code, k, jt, jf }
}

/// Lays out:
/// ```text
///   ld arch; jeq A0 -> block0; jeq A1 -> block1; ...; ja main
/// block_i: ld nr; [x86_64: jge X32_BIT -> x32_i] jgt max_i -> enosys, main
/// x32_i: jgt max_x32 -> enosys, main            (or: ja main)
/// enosys: ret ERRNO(ENOSYS)
/// main: (the libseccomp program)
/// ```
fn assemble(limits: &[Limit]) -> Vec<libc::sock_filter> {
    if limits.is_empty() {
        return Vec::new();
    }
    let mut ops: Vec<Op> = vec![op(LD_W_ABS, OFF_ARCH, Target::Next, Target::Next)];
    for (i, l) in limits.iter().enumerate() {
        ops.push(op(JEQ_K, l.audit_arch, Target::Block(i), Target::Next));
    }
    ops.push(op(JA, 0, Target::Main, Target::Main));
    let mut block_at = Vec::new();
    let mut x32_at = Vec::new();
    for (i, l) in limits.iter().enumerate() {
        block_at.push(ops.len());
        ops.push(op(LD_W_ABS, OFF_NR, Target::Next, Target::Next));
        if l.audit_arch == AUDIT_ARCH_X86_64 {
            ops.push(op(JGE_K, X32_SYSCALL_BIT, Target::X32(i), Target::Next));
        }
        ops.push(op(JGT_K, l.max, Target::Enosys, Target::Main));
        x32_at.push(ops.len());
        if l.audit_arch == AUDIT_ARCH_X86_64 {
            match l.max_x32 {
                Some(max) => ops.push(op(JGT_K, max, Target::Enosys, Target::Main)),
                // x32 not in the filter: libseccomp's program decides (bad arch).
                None => ops.push(op(JA, 0, Target::Main, Target::Main)),
            }
        }
    }
    let enosys_at = ops.len();
    ops.push(op(
        RET_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        Target::Next,
        Target::Next,
    ));
    let main_at = ops.len();

    let resolve = |pc: usize, t: Target| -> usize {
        let to = match t {
            Target::Next => pc + 1,
            Target::Enosys => enosys_at,
            Target::Main => main_at,
            Target::Block(i) => block_at[i],
            Target::X32(i) => x32_at[i],
        };
        // Only forward jumps exist in this layout.
        to - (pc + 1)
    };
    ops.iter()
        .enumerate()
        .map(|(pc, o)| {
            if o.code == JA {
                libc::sock_filter {
                    code: o.code,
                    jt: 0,
                    jf: 0,
                    k: resolve(pc, o.jt) as u32,
                }
            } else {
                // A handful of instructions: every conditional offset fits in a u8.
                libc::sock_filter {
                    code: o.code,
                    jt: u8::try_from(resolve(pc, o.jt)).unwrap_or(u8::MAX),
                    jf: u8::try_from(resolve(pc, o.jf)).unwrap_or(u8::MAX),
                    k: o.k,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_fold_x32_into_x86_64() {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        let got = limits(
            &[ScmpArch::Native, ScmpArch::X86, ScmpArch::X32],
            &["read", "getppid", "no_such_call"],
        );
        assert_eq!(
            got,
            vec![
                Limit {
                    audit_arch: AUDIT_ARCH_X86_64,
                    max: 110,
                    max_x32: Some(X32_SYSCALL_BIT | 110)
                },
                Limit {
                    audit_arch: 0x4000_0003,
                    max: 64,
                    max_x32: None
                },
            ]
        );
        let prog = assemble(&got);
        // Every jump lands inside the prologue or on its end (the main program).
        for (pc, insn) in prog.iter().enumerate() {
            if insn.code == JA {
                assert!(pc + 1 + insn.k as usize <= prog.len());
            } else if insn.code != LD_W_ABS && insn.code != RET_K {
                assert!(pc + 1 + insn.jt as usize <= prog.len());
                assert!(pc + 1 + insn.jf as usize <= prog.len());
            }
        }
    }
}
