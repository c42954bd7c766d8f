//! `LinuxSeccomp` -> validated libseccomp context -> BPF program.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::errno::Errno;
use nix::sys::memfd::{MFdFlags, memfd_create};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::{SeccompError, SeccompFilter};

/// Syscall arguments are numbered 0..=5.
const MAX_ARG_INDEX: usize = 5;
/// `BPF_MAXINSNS`: the kernel refuses longer classic BPF programs.
pub(super) const MAX_INSNS: usize = 4096;
/// Size of one `struct sock_filter` in an exported program.
pub(super) const INSN_SIZE: usize = 8;

/// Syscalls the container init itself needs between loading the filter and `execve`
/// (sending the listener fd to the runtime). Notifying them would deadlock: nobody can
/// answer before the fd has been delivered. runc refuses `write` for the same reason.
const NOT_NOTIFIABLE: &[&str] = &["write", "sendmsg"];

/// Validates `spec` and builds its filter (not loaded). Run before creating anything, so
/// a bad profile fails `create` with nothing left behind.
pub fn compile(spec: &LinuxSeccomp) -> Result<SeccompFilter, SeccompError> {
    let checked = check(spec)?;
    let program = build_program(spec, checked.default)?;
    Ok(checked.into_filter(spec, program))
}

/// What validating a profile yields: everything but the BPF program.
pub(super) struct Checked {
    pub(super) default: ScmpAction,
    /// The `seccomp(2)` flags to load the program with.
    pub(super) flags: libc::c_ulong,
    notify: bool,
}

impl Checked {
    pub(super) fn into_filter(
        self,
        spec: &LinuxSeccomp,
        program: Vec<libc::sock_filter>,
    ) -> SeccompFilter {
        tracing::debug!(
            instructions = program.len(),
            notify = self.notify,
            "seccomp filter ready"
        );
        SeccompFilter {
            program,
            flags: self.flags,
            notify: self.notify,
            listener_path: spec.listener_path().clone(),
            listener_metadata: spec.listener_metadata().clone(),
        }
    }
}

/// Every check of `spec` that needs no libseccomp filter: actions, rules, the listener,
/// what the running kernel supports, the load flags.
pub(super) fn check(spec: &LinuxSeccomp) -> Result<Checked, SeccompError> {
    let default = action(
        spec.default_action(),
        spec.default_errno_ret(),
        "defaultAction",
    )?;
    if default == ScmpAction::Notify {
        return Err(SeccompError::invalid(
            "SCMP_ACT_NOTIFY cannot be the defaultAction (the container could not even deliver the listener fd)",
        ));
    }
    let rules = spec.syscalls().as_deref().unwrap_or_default();
    let mut notify = false;
    for (index, rule) in rules.iter().enumerate() {
        check_rule(index, rule)?;
        notify |= rule.action() == LinuxSeccompAction::ScmpActNotify;
    }
    if notify && spec.listener_path().is_none() {
        return Err(SeccompError::invalid(
            "SCMP_ACT_NOTIFY is used but listenerPath is not set",
        ));
    }
    check_actions_available(spec)?;
    let flags = filter_flags(spec.flags().as_deref().unwrap_or_default(), notify)?;
    Ok(Checked {
        default,
        flags,
        notify,
    })
}

/// Lets libseccomp build the checked `spec`'s filter and exports it as classic BPF,
/// with berth's ENOSYS prologue in front (the costly part: ~26 ms for the default
/// profile, which is why [`super::cache`] keeps the result).
pub(super) fn build_program(
    spec: &LinuxSeccomp,
    default: ScmpAction,
) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let rules = spec.syscalls().as_deref().unwrap_or_default();
    let lib = |op: String| {
        move |e: libseccomp::error::SeccompError| SeccompError::Libseccomp {
            op: op.clone(),
            detail: e.to_string(),
        }
    };
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("creating the filter".into()))?;
    for arch in spec.architectures().as_deref().unwrap_or_default() {
        ctx.add_arch(scmp_arch(*arch))
            .map_err(lib(format!("adding architecture {arch}")))?;
    }
    for (index, rule) in rules.iter().enumerate() {
        add_rule(&mut ctx, index, rule, default)?;
    }
    let mut program = export(&ctx)?;
    if !matches!(default, ScmpAction::Allow | ScmpAction::Log) {
        let names: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.names().iter().map(String::as_str))
            .collect();
        let mut arches = vec![ScmpArch::native()];
        arches.extend(
            spec.architectures()
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| scmp_arch(*a)),
        );
        let mut with_prologue = super::enosys::prologue(&arches, &names);
        with_prologue.append(&mut program);
        program = with_prologue;
    }
    check_length(program.len())?;
    Ok(program)
}

/// The kernel refuses classic BPF programs longer than `BPF_MAXINSNS`.
pub(super) fn check_length(instructions: usize) -> Result<(), SeccompError> {
    if instructions > MAX_INSNS {
        return Err(SeccompError::invalid(format!(
            "the filter has {instructions} BPF instructions, more than the kernel's limit of {MAX_INSNS}"
        )));
    }
    Ok(())
}

/// The libseccomp action for an OCI action; `errnoRet` is only valid where the action
/// carries a value (runtime-spec: "the runtime MUST print an error and fail").
fn action(
    act: LinuxSeccompAction,
    errno_ret: Option<u32>,
    what: &str,
) -> Result<ScmpAction, SeccompError> {
    use LinuxSeccompAction as A;
    let value = |errno: Option<u32>| -> Result<u16, SeccompError> {
        let v = errno.unwrap_or(libc::EPERM as u32);
        u16::try_from(v).map_err(|_| {
            SeccompError::invalid(format!("{what}: errnoRet {v} does not fit in 16 bits"))
        })
    };
    Ok(match act {
        A::ScmpActErrno => ScmpAction::Errno(i32::from(value(errno_ret)?)),
        A::ScmpActTrace => ScmpAction::Trace(value(errno_ret)?),
        _ if errno_ret.is_some() => {
            return Err(SeccompError::invalid(format!(
                "{what}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {act}"
            )));
        }
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActNotify => ScmpAction::Notify,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
    })
}

fn check_rule(index: usize, rule: &LinuxSyscall) -> Result<(), SeccompError> {
    let what = format!("syscalls[{index}]");
    if rule.names().is_empty() {
        return Err(SeccompError::invalid(format!("{what}: names is empty")));
    }
    action(rule.action(), rule.errno_ret(), &what)?;
    for arg in rule.args().as_deref().unwrap_or_default() {
        condition(arg, &what)?;
    }
    if rule.action() == LinuxSeccompAction::ScmpActNotify
        && let Some(name) = rule
            .names()
            .iter()
            .find(|n| NOT_NOTIFIABLE.contains(&n.as_str()))
    {
        return Err(SeccompError::invalid(format!(
            "{what}: SCMP_ACT_NOTIFY cannot be used for {name} (the runtime needs it to deliver the listener fd)"
        )));
    }
    Ok(())
}

fn condition(arg: &LinuxSeccompArg, what: &str) -> Result<ScmpArgCompare, SeccompError> {
    use LinuxSeccompOperator as O;
    if arg.index() > MAX_ARG_INDEX {
        return Err(SeccompError::invalid(format!(
            "{what}: argument index {} is out of range (0..=5)",
            arg.index()
        )));
    }
    let (op, datum) = match arg.op() {
        O::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        O::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        O::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        O::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        O::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        O::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        // (arg & value) == valueTwo
        O::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    // Index checked above, so the cast cannot truncate.
    Ok(ScmpArgCompare::new(arg.index() as u32, op, datum))
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    index: usize,
    rule: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), SeccompError> {
    let what = format!("syscalls[{index}]");
    let act = action(rule.action(), rule.errno_ret(), &what)?;
    if act == default {
        // libseccomp refuses a rule equal to the default action; it would be a no-op.
        tracing::debug!(names = ?rule.names(), "seccomp rule has the default action, skipped");
        return Ok(());
    }
    let conditions = rule
        .args()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|arg| condition(arg, &what))
        .collect::<Result<Vec<_>, _>>()?;
    // libseccomp ANDs the conditions of one rule but cannot test one argument twice;
    // then each condition becomes its own rule (OR), which is what profiles using the
    // same index twice mean (runc does the same).
    let mut seen = [0u8; MAX_ARG_INDEX + 1];
    for arg in rule.args().as_deref().unwrap_or_default() {
        seen[arg.index()] = seen[arg.index()].saturating_add(1);
    }
    let split = seen.iter().any(|n| *n > 1);
    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            tracing::debug!(syscall = %name, "unknown syscall in seccomp profile, skipped");
            continue;
        };
        let result = if conditions.is_empty() {
            ctx.add_rule(act, syscall).map(drop)
        } else if split {
            conditions
                .iter()
                .try_for_each(|c| ctx.add_rule_conditional(act, syscall, &[*c]).map(drop))
        } else {
            ctx.add_rule_conditional(act, syscall, &conditions)
                .map(drop)
        };
        result.map_err(|e| SeccompError::Libseccomp {
            op: format!("adding the rule for {name} ({what})"),
            detail: e.to_string(),
        })?;
    }
    Ok(())
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL)` for every action the profile uses, so e.g.
/// SCMP_ACT_NOTIFY on a kernel without it fails at create, not at start.
fn check_actions_available(spec: &LinuxSeccomp) -> Result<(), SeccompError> {
    let used = std::iter::once(spec.default_action())
        .chain(spec.syscalls().iter().flatten().map(|r| r.action()));
    for act in used {
        let mut ret: u32 = act.as_u32(None) & libc::SECCOMP_RET_ACTION_FULL;
        // SAFETY: GET_ACTION_AVAIL reads one u32 through the pointer, which is live.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_GET_ACTION_AVAIL,
                0,
                &mut ret as *mut u32,
            )
        };
        if rc != 0 {
            return Err(SeccompError::Unsupported {
                what: format!("action {act} ({})", Errno::last()),
            });
        }
    }
    Ok(())
}

/// The `seccomp(2)` flags for the spec's `flags`, each probed on the running kernel
/// (a supported flag with a NULL program gives EFAULT, an unknown one EINVAL).
fn filter_flags(
    flags: &[LinuxSeccompFilterFlag],
    notify: bool,
) -> Result<libc::c_ulong, SeccompError> {
    use LinuxSeccompFilterFlag as F;
    let mut out: libc::c_ulong = 0;
    for flag in flags {
        let bit = match flag {
            F::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            F::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            F::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            F::SeccompFilterFlagWaitKillableRecv if !notify => {
                // Only meaningful with a listener; the kernel rejects it otherwise.
                tracing::debug!(
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY, ignored"
                );
                continue;
            }
            F::SeccompFilterFlagWaitKillableRecv => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                    | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            }
        };
        if let Err(errno) = probe_filter_flag(bit) {
            return Err(SeccompError::Unsupported {
                what: format!("filter flag {flag} ({errno})"),
            });
        }
        out |= bit & !libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    Ok(out)
}

/// Lets libseccomp write the BPF program into a memfd and reads it back.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let kernel = |op: &str| {
        let op = op.to_string();
        move |source: Errno| SeccompError::Kernel {
            op: op.clone(),
            source,
        }
    };
    let fd = memfd_create(c"berth-seccomp", MFdFlags::MFD_CLOEXEC)
        .map_err(kernel("creating a memfd for the filter"))?;
    ctx.export_bpf(&fd).map_err(|e| SeccompError::Libseccomp {
        op: "exporting the filter".into(),
        detail: e.to_string(),
    })?;
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| SeccompError::Kernel {
            op: format!(
                "reading the exported filter from memfd {}",
                file.as_raw_fd()
            ),
            source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
    if bytes.len() % INSN_SIZE != 0 || bytes.is_empty() {
        return Err(SeccompError::Libseccomp {
            op: "exporting the filter".into(),
            detail: format!(
                "{} bytes is not a whole number of instructions",
                bytes.len()
            ),
        });
    }
    Ok(decode(&bytes))
}

/// `struct sock_filter`s from their in-memory bytes (as `seccomp_export_bpf` writes
/// them); a trailing partial instruction is dropped, callers check the length first.
pub(super) fn decode(bytes: &[u8]) -> Vec<libc::sock_filter> {
    bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// The inverse of [`decode`].
pub(super) fn encode(program: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * INSN_SIZE);
    for insn in program {
        out.extend_from_slice(&insn.code.to_ne_bytes());
        out.push(insn.jt);
        out.push(insn.jf);
        out.extend_from_slice(&insn.k.to_ne_bytes());
    }
    out
}

/// Whether the running kernel knows filter flag `bit`: with a NULL program the kernel
/// checks the flags first and fails with EFAULT for known ones, EINVAL for others.
/// Nothing is loaded.
pub fn probe_filter_flag(bit: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: the NULL program pointer is never dereferenced (see above).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            bit,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    let errno = Errno::last();
    if rc == -1 && errno == Errno::EFAULT {
        Ok(())
    } else {
        Err(errno)
    }
}
